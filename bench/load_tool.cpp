// opsmeter-load: records N calls from T threads through the public API as fast as it can,
// flushes, and prints one JSON line with the caller's cost, what was delivered or dropped, the
// drain time, delivered records per second and peak RSS.
//
//   opsmeter-load [--records N] [--threads T] [--in-flight K] [--queue Q] [--queue-bytes B]
//                 [--mode ok|down|slow|throttle|plan-limited|rate-limited|outage|
//                         random-429|slow-tail|quiet]
//                 [--plan-limit K] [--rate R] [--burst B] [--fraction F --delay-ms D]
//                 [--pace P --seconds S --down-from A --down-to B]
//                 [--base-url URL --api-key KEY] [--ca-bundle PEM] [--flush-timeout-s S]
//
// cpu_us_per_record is the process's user + system CPU over delivered records: the client's
// cost per record when the server is another process (--base-url). In mode ok, --pace P
// records P records/s in all (as a service does, one record per call) instead of as fast as it
// can, without the RSS sampler.
// Without --base-url it starts its own in-process mock ingest server and scripts the mode:
// down = nothing listens; slow = every answer after 2 s; throttle = 429 (Retry-After: 1) on
// every 5th request; plan-limited = 402 once K records are stored; rate-limited = a per-key
// token bucket of R requests/s, B deep (429, Retry-After: 1, when empty; default 500 and 50).
// outage = one thread records P records/s for S seconds while the server is stopped from A s
// to B s and then restarted on the same port; the line adds what each server stored and how
// many ids were stored twice. random-429 = a share F of requests (default 0.05) answered 429
// with Retry-After: 1 at random, the rest accepted; the line adds how many were delivered
// within --flush-timeout-s. slow-tail = a share F answered D ms late (default 0.02 and 2000).
// quiet = one record answered 429 (Retry-After: 1), 3 s idle, then N records at once; the line
// adds the time from that burst until every record was delivered (burst_ms).
#include <opsmeter/opsmeter.hpp>
#include <opsmeter/testing/mock_ingest_server.hpp>
#include <opsmeter/testing/support.hpp>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct Args {
  long long records = 100000;
  int threads = 4;
  std::size_t in_flight = 8;
  std::size_t queue = opsmeter::Options{}.queue.capacity;
  std::size_t queue_bytes = opsmeter::Options{}.queue.max_bytes;
  std::string mode = "ok";
  long long plan_limit = 1000;
  std::string base_url;
  std::string api_key = "test-key";
  std::string ca_bundle;
  int flush_timeout_s = 120;
  double rate = 500, burst = 50;
  double pace = 250, seconds = 40, down_from = 10, down_to = 30;
  bool paced = false;  // --pace given
  double fraction = -1;  // random-429: 0.05, slow-tail: 0.02
  int delay_ms = 2000;
};

[[noreturn]] void usage(const std::string& problem) {
  std::fprintf(stderr, "opsmeter-load: %s (see bench/load_tool.cpp)\n", problem.c_str());
  std::exit(2);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) usage("missing value for " + arg);
    const std::string v = argv[++i];
    if (arg == "--records") a.records = std::atoll(v.c_str());
    else if (arg == "--threads") a.threads = std::atoi(v.c_str());
    else if (arg == "--in-flight") a.in_flight = static_cast<std::size_t>(std::atoll(v.c_str()));
    else if (arg == "--queue") a.queue = static_cast<std::size_t>(std::atoll(v.c_str()));
    else if (arg == "--queue-bytes") a.queue_bytes = static_cast<std::size_t>(std::atoll(v.c_str()));
    else if (arg == "--mode") a.mode = v;
    else if (arg == "--plan-limit") a.plan_limit = std::atoll(v.c_str());
    else if (arg == "--base-url") a.base_url = v;
    else if (arg == "--api-key") a.api_key = v;
    else if (arg == "--ca-bundle") a.ca_bundle = v;
    else if (arg == "--flush-timeout-s") a.flush_timeout_s = std::atoi(v.c_str());
    else if (arg == "--rate") a.rate = std::atof(v.c_str());
    else if (arg == "--burst") a.burst = std::atof(v.c_str());
    else if (arg == "--pace") {
      a.pace = std::atof(v.c_str());
      a.paced = a.pace > 0;
    }
    else if (arg == "--seconds") a.seconds = std::atof(v.c_str());
    else if (arg == "--down-from") a.down_from = std::atof(v.c_str());
    else if (arg == "--down-to") a.down_to = std::atof(v.c_str());
    else if (arg == "--fraction") a.fraction = std::atof(v.c_str());
    else if (arg == "--delay-ms") a.delay_ms = std::atoi(v.c_str());
    else usage("unknown option " + arg);
  }
  if (a.records <= 0 || a.threads <= 0) usage("--records and --threads must be positive");
  return a;
}

// "reason":count for each reason with drops, comma-separated.
void print_drops(const opsmeter::Stats& s) {
  bool first = true;
  for (std::size_t i = 0; i < opsmeter::kDropReasonCount; ++i) {
    if (s.dropped_by_reason[i] == 0) continue;
    std::printf("%s\"%s\":%llu", first ? "" : ",",
                std::string(opsmeter::to_string(static_cast<opsmeter::DropReason>(i))).c_str(),
                static_cast<unsigned long long>(s.dropped_by_reason[i]));
    first = false;
  }
}

// The outage run: paced records from one thread, the server stopped and restarted meanwhile.
int run_outage(const Args& args, opsmeter::Client& client,
               std::unique_ptr<opsmeter::testing::MockIngestServer>& first) {
  const int port = first->port();
  std::unique_ptr<opsmeter::testing::MockIngestServer> second;
  const auto started = Clock::now();
  const auto at = [&](double s) {
    return started + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  };
  const auto total = static_cast<long long>(args.pace * args.seconds);
  bool stopped = false;
  for (long long i = 0; i < total; ++i) {
    std::this_thread::sleep_until(at(static_cast<double>(i) / args.pace));
    const double now_s = std::chrono::duration<double>(Clock::now() - started).count();
    if (!stopped && now_s >= args.down_from) {
      first->stop();
      stopped = true;
    }
    if (stopped && !second && now_s >= args.down_to) {
      opsmeter::testing::MockIngestOptions same_port;
      same_port.port = port;
      second = std::make_unique<opsmeter::testing::MockIngestServer>(same_port);
      if (!second->start()) usage("cannot restart the mock server on port " + std::to_string(port));
    }
    client.record(opsmeter::testing::sample_record());
  }
  const opsmeter::FlushResult flushed = client.flush(std::chrono::seconds(args.flush_timeout_s));
  const double total_s = std::chrono::duration<double>(Clock::now() - started).count();
  const opsmeter::Stats s = client.stats();
  std::map<std::string, int> stored_times;
  std::size_t stored_first = 0, stored_second = 0;
  for (const auto* server : {first.get(), second.get()}) {
    if (server == nullptr) continue;
    for (const auto& r : server->requests()) {
      if (r.status >= 200 && r.status <= 299 && !r.duplicate) ++stored_times[r.external_request_id];
    }
    (server == first.get() ? stored_first : stored_second) = server->stored_count();
  }
  std::size_t duplicates = 0;
  for (const auto& [id, times] : stored_times) duplicates += times > 1 ? 1 : 0;
  std::printf("{\"mode\":\"outage\",\"pace\":%.0f,\"seconds\":%.0f,\"down\":[%.0f,%.0f],\"flush\":\"%s\","
              "\"recorded\":%llu,\"delivered\":%llu,\"dropped\":{",
              args.pace, args.seconds, args.down_from, args.down_to, std::string(opsmeter::to_string(flushed)).c_str(),
              static_cast<unsigned long long>(s.recorded), static_cast<unsigned long long>(s.delivered));
  print_drops(s);
  std::printf("},\"stored_before\":%zu,\"stored_after\":%zu,\"ids_stored_twice\":%zu,\"requests_sent\":%llu,"
              "\"total_s\":%.1f}\n",
              stored_first, stored_second, duplicates, static_cast<unsigned long long>(s.requests_sent), total_s);
  return s.recorded == s.delivered + s.dropped + s.pending() ? 0 : 1;
}

// The quiet client: one record (answered 429 by the server's first fault), 3 s of nothing,
// then N records at once.
int run_quiet(const Args& args, opsmeter::Client& client) {
  client.record(opsmeter::testing::sample_record());
  std::this_thread::sleep_for(3s);
  const auto burst = Clock::now();
  for (long long i = 0; i < args.records; ++i) client.record(opsmeter::testing::sample_record());
  const auto delivered = static_cast<std::uint64_t>(args.records) + 1;
  while (client.stats().delivered < delivered && Clock::now() - burst < std::chrono::seconds(args.flush_timeout_s)) {
    std::this_thread::sleep_for(1ms);  // polling for the end, at 1 ms resolution
  }
  const double burst_ms = std::chrono::duration<double, std::milli>(Clock::now() - burst).count();
  const opsmeter::Stats s = client.stats();
  std::printf("{\"mode\":\"quiet\",\"records\":%lld,\"delivered\":%llu,\"throttled\":%llu,\"burst_ms\":%.1f,"
              "\"send_rate_limit\":%.0f}\n",
              args.records, static_cast<unsigned long long>(s.delivered), static_cast<unsigned long long>(s.throttled),
              burst_ms, client.status().send_rate_limit);
  return s.delivered == delivered ? 0 : 1;
}

long rss_kib() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  auto server_ptr = std::make_unique<opsmeter::testing::MockIngestServer>();
  opsmeter::testing::MockIngestServer& server = *server_ptr;
  std::string base_url = args.base_url;
  if (base_url.empty()) {
    if (args.mode == "down") {
      base_url = "http://127.0.0.1:" + std::to_string(opsmeter::testing::unused_loopback_port());
    } else {
      if (!server.start()) usage("cannot start the mock server");
      base_url = server.base_url();
      using opsmeter::testing::Fault;
      if (args.mode == "slow") server.set_fault_fraction(Fault::delay_for(2000ms), 1.0);
      else if (args.mode == "throttle") server.set_fault_every(Fault::throttle("1"), 5);
      else if (args.mode == "plan-limited") server.set_plan_limit(args.plan_limit);
      else if (args.mode == "rate-limited") server.set_rate_limit(args.rate, args.burst);
      else if (args.mode == "random-429") {
        server.set_fault_fraction(Fault::throttle("1"), args.fraction < 0 ? 0.05 : args.fraction);
      } else if (args.mode == "slow-tail") {
        server.set_fault_fraction(Fault::delay_for(std::chrono::milliseconds(args.delay_ms)),
                                  args.fraction < 0 ? 0.02 : args.fraction);
      } else if (args.mode == "quiet") {
        server.push_fault(Fault::throttle("1"));
      } else if (args.mode != "ok" && args.mode != "outage") {
        usage("unknown mode " + args.mode);
      }
    }
  }

  opsmeter::Options o;
  o.api_key = args.api_key;
  o.base_url = base_url;
  o.tls.ca_bundle = args.ca_bundle;
  o.max_in_flight = args.in_flight;
  o.queue.capacity = args.queue;
  o.queue.max_bytes = args.queue_bytes;
  o.log_level = opsmeter::LogLevel::kError;
  o.on_log = [](opsmeter::LogLevel, std::string_view) {};
  opsmeter::Client client(o);

  if (args.mode == "outage") return run_outage(args, client, server_ptr);
  if (args.mode == "quiet") return run_quiet(args, client);

  // RSS while recording, sampled every 10 ms, to show whether memory stays flat.
  std::atomic<bool> recording{true};
  std::vector<long> rss_trace;
  std::thread sampler([&] {
    while (recording.load() && !args.paced) {
      rss_trace.push_back(rss_kib());
      std::this_thread::sleep_for(10ms);
    }
  });

  std::vector<std::vector<std::int64_t>> caller_ns(static_cast<std::size_t>(args.threads));
  const auto started = Clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < args.threads; ++t) {
    workers.emplace_back([&, t] {
      const long long mine = args.records / args.threads + (t < args.records % args.threads ? 1 : 0);
      auto& samples = caller_ns[static_cast<std::size_t>(t)];
      samples.reserve(static_cast<std::size_t>(mine));
      for (long long i = 0; i < mine; ++i) {
        if (args.paced) {  // this thread's share of the pace
          std::this_thread::sleep_until(started + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                                                      static_cast<double>(i * args.threads + t) / args.pace)));
        }
        opsmeter::LlmCallRecord r = opsmeter::testing::sample_record();
        const auto a = Clock::now();
        client.record(std::move(r));
        const auto b = Clock::now();
        samples.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count());
      }
    });
  }
  for (auto& w : workers) w.join();
  const auto recorded_at = Clock::now();
  const opsmeter::FlushResult flushed = client.flush(std::chrono::seconds(args.flush_timeout_s));
  const auto drained_at = Clock::now();
  recording.store(false);
  sampler.join();
  const opsmeter::Stats s = client.stats();

  std::vector<std::int64_t> all;
  for (auto& v : caller_ns) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  const auto pct = [&](std::size_t p) { return all.empty() ? 0 : all[(all.size() - 1) * p / 100]; };
  rusage usage_now{};
  getrusage(RUSAGE_SELF, &usage_now);
  const double total_s = std::chrono::duration<double>(drained_at - started).count();
  const auto seconds_of = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  const double cpu_s = seconds_of(usage_now.ru_utime) + seconds_of(usage_now.ru_stime);
  const double cpu_us_per_record = s.delivered == 0 ? 0 : cpu_s * 1e6 / static_cast<double>(s.delivered);
  const double drain_ms = std::chrono::duration<double, std::milli>(drained_at - recorded_at).count();
  const auto trace_at = [&](std::size_t quarter) {
    return rss_trace.empty() ? 0L : rss_trace[std::min(rss_trace.size() - 1, rss_trace.size() * quarter / 4)];
  };

  std::printf(
      "{\"mode\":\"%s\",\"records\":%lld,\"threads\":%d,\"in_flight\":%zu,\"queue\":%zu,"
      "\"queue_bytes\":%zu,\"caller_ns\":{\"p50\":%lld,\"p99\":%lld,\"max\":%lld},\"flush\":\"%s\","
      "\"recorded\":%llu,\"delivered\":%llu,\"dropped\":{",
      args.mode.c_str(), args.records, args.threads, args.in_flight, args.queue, args.queue_bytes,
      static_cast<long long>(pct(50)), static_cast<long long>(pct(99)),
      static_cast<long long>(all.empty() ? 0 : all.back()), std::string(opsmeter::to_string(flushed)).c_str(),
      static_cast<unsigned long long>(s.recorded), static_cast<unsigned long long>(s.delivered));
  print_drops(s);
  std::printf(
      "},\"pending\":%llu,\"requests_sent\":%llu,\"retried\":%llu,\"throttled\":%llu,"
      "\"record_ms\":%.1f,\"drain_ms\":%.1f,\"delivered_per_s\":%.0f,\"cpu_us_per_record\":%.1f,"
      "\"peak_rss_kib\":%ld,"
      "\"rss_kib_quartiles\":[%ld,%ld,%ld,%ld],\"last_error\":\"%s\"}\n",
      static_cast<unsigned long long>(s.pending()), static_cast<unsigned long long>(s.requests_sent),
      static_cast<unsigned long long>(s.retried), static_cast<unsigned long long>(s.throttled),
      std::chrono::duration<double, std::milli>(recorded_at - started).count(), drain_ms,
      static_cast<double>(s.delivered) / total_s, cpu_us_per_record, usage_now.ru_maxrss, trace_at(1), trace_at(2),
      trace_at(3), trace_at(4), s.last_error.c_str());
  const bool accounted = s.recorded == s.delivered + s.dropped + s.pending();
  return accounted ? 0 : 1;
}
