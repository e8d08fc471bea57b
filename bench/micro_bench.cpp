// Caller-path micro-benchmarks (Google Benchmark). Every benchmark times each operation on its
// own with the steady clock and reports the p50 and p99 of all threads' samples (p50_ns,
// p99_ns), plus heap allocations per operation counted by a replaced operator new
// (allocs_per_op). Timer overhead is reported by BM_TimerOverhead and is included in every
// figure. Run: opsmeter_micro_bench --benchmark_out=micro.json --benchmark_out_format=json
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <new>
#include <vector>

#include "opsmeter/opsmeter.hpp"
#include "opsmeter/testing/support.hpp"

// ---- allocation counting --------------------------------------------------------------------
namespace {
thread_local bool t_counting = false;
thread_local std::uint64_t t_allocations = 0;
}  // namespace

void* operator new(std::size_t size) {
  if (t_counting) ++t_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

using Clock = std::chrono::steady_clock;

// Gathers every thread's samples; the last thread to finish publishes the percentiles.
class Samples {
 public:
  void publish(benchmark::State& state, std::vector<std::int64_t>& mine, std::uint64_t allocations,
               std::uint64_t ops) {
    std::lock_guard<std::mutex> lock(mu_);
    all_.insert(all_.end(), mine.begin(), mine.end());
    allocations_ += allocations;
    ops_ += ops;
    if (++finished_ < state.threads()) return;
    if (!all_.empty()) {
      std::sort(all_.begin(), all_.end());
      const auto at = [&](std::size_t percent) {
        return static_cast<double>(all_[(all_.size() - 1) * percent / 100]);
      };
      state.counters["p50_ns"] = at(50);
      state.counters["p99_ns"] = at(99);
      state.counters["max_ns"] = static_cast<double>(all_.back());
      state.counters["allocs_per_op"] = static_cast<double>(allocations_) / static_cast<double>(ops_);
    }
    all_.clear();
    allocations_ = 0;
    ops_ = 0;
    finished_ = 0;
  }

 private:
  std::mutex mu_;
  std::vector<std::int64_t> all_;
  std::uint64_t allocations_ = 0;
  std::uint64_t ops_ = 0;  // every timed operation; samples keep at most 2^20 per thread
  int finished_ = 0;
};

// Times `op` once per iteration; `prepare` runs untimed before each.
template <typename Prepare, typename Op>
void timed_loop(benchmark::State& state, Samples& samples, Prepare prepare, Op op) {
  std::vector<std::int64_t> mine;
  mine.reserve(1 << 20);
  std::uint64_t allocations = 0, ops = 0;
  for (auto _ : state) {
    prepare();
    t_allocations = 0;
    t_counting = true;
    const auto start = Clock::now();
    op();
    const auto end = Clock::now();
    t_counting = false;
    allocations += t_allocations;
    ++ops;
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(end - start).count();
    state.SetIterationTime(static_cast<double>(ns) * 1e-9);
    if (mine.size() < mine.capacity()) mine.push_back(ns);
  }
  samples.publish(state, mine, allocations, ops);
}

// A client whose worker drains as fast as it can without a network: a dry run.
opsmeter::Client& shared_client() {
  static opsmeter::Client client([] {
    opsmeter::Options o;
    o.dry_run = true;
    o.log_level = opsmeter::LogLevel::kError;
    return o;
  }());
  return client;
}

const char* kOpenAiBody =
    R"({"id":"chatcmpl-AbC123","object":"chat.completion","created":1733000000,)"
    R"("model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant",)"
    R"("content":"Your order #1001 shipped on Monday and arrives Thursday."},"logprobs":null,)"
    R"("finish_reason":"stop"}],"usage":{"prompt_tokens":1200,"completion_tokens":300,)"
    R"("total_tokens":1500,"prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":0},)"
    R"("completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0}},)"
    R"("system_fingerprint":"fp_0ba0d124f1"})";

const char* kAnthropicBody =
    R"({"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant",)"
    R"("model":"claude-3-5-sonnet-20241022","content":[{"type":"text","text":"Your order shipped."}],)"
    R"("stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":480,)"
    R"("cache_creation_input_tokens":0,"cache_read_input_tokens":2000,"output_tokens":210}})";

void BM_TimerOverhead(benchmark::State& state) {
  static Samples samples;
  timed_loop(state, samples, [] {}, [] {});
}

// Every thread flushes (untimed) after its share of half the queue, so each timed record()
// finds room and measures the queued path, not the cheaper queue_full one.
void BM_Record(benchmark::State& state) {
  static Samples samples;
  opsmeter::Client& client = shared_client();
  opsmeter::LlmCallRecord record;
  std::uint64_t queued = 0, total = 0;
  const std::uint64_t batch = 10000 / 2 / static_cast<std::uint64_t>(state.threads());
  timed_loop(
      state, samples,
      [&] {
        if (total % batch == batch - 1) client.flush(std::chrono::seconds(5));
        record = opsmeter::testing::sample_record();
      },
      [&] {
        const opsmeter::RecordResult r = client.record(std::move(record));
        queued += r.queued();
        ++total;
      });
  state.counters["queued_ratio"] = benchmark::Counter(
      static_cast<double>(queued) / static_cast<double>(std::max<std::uint64_t>(total, 1)),
      benchmark::Counter::kAvgThreads);
}

// Flushes (untimed) like BM_Record so the scope's record() always finds room.
template <typename State>
auto flush_every(State& state, opsmeter::Client& client) {
  return [&client, n = std::uint64_t{0},
          batch = 10000 / 2 / static_cast<std::uint64_t>(state.threads())]() mutable {
    if (++n % batch == 0) client.flush(std::chrono::seconds(5));
  };
}

// Times one call scope (start, set_usage, destroy) per iteration.
void time_scopes(benchmark::State& state, Samples& samples) {
  opsmeter::Client& client = shared_client();
  opsmeter::Usage usage;
  usage.input_tokens = 120;
  usage.output_tokens = 45;
  timed_loop(state, samples, flush_every(state, client), [&] {
    opsmeter::CallScope call = client.start_call("openai", "gpt-4o-mini");
    call.set_usage(usage);
  });
}

void BM_CallScope(benchmark::State& state) {
  static Samples samples;
  time_scopes(state, samples);
}

void BM_CallScopeInContext(benchmark::State& state) {
  static Samples samples;
  opsmeter::Context ctx;
  ctx.endpoint_tag = "support.reply";
  ctx.prompt_version = "support_reply_v2";
  ctx.tenant_id = "tenant-7";
  opsmeter::ContextGuard guard(ctx);
  time_scopes(state, samples);
}

void BM_ExtractOpenAi(benchmark::State& state) {
  static Samples samples;
  timed_loop(state, samples, [] {}, [] { benchmark::DoNotOptimize(opsmeter::extract_openai_chat(kOpenAiBody)); });
}

void BM_ExtractAnthropic(benchmark::State& state) {
  static Samples samples;
  timed_loop(state, samples, [] {}, [] { benchmark::DoNotOptimize(opsmeter::extract_anthropic(kAnthropicBody)); });
}

void BM_NewRequestId(benchmark::State& state) {
  static Samples samples;
  timed_loop(state, samples, [] {}, [] { benchmark::DoNotOptimize(opsmeter::new_request_id()); });
}

BENCHMARK(BM_TimerOverhead)->UseManualTime()->Threads(1);
BENCHMARK(BM_Record)->UseManualTime()->Threads(1)->Threads(2)->Threads(4)->Threads(8);
BENCHMARK(BM_CallScope)->UseManualTime()->Threads(1)->Threads(2)->Threads(4)->Threads(8);
BENCHMARK(BM_CallScopeInContext)->UseManualTime()->Threads(1)->Threads(2)->Threads(4)->Threads(8);
BENCHMARK(BM_ExtractOpenAi)->UseManualTime()->Threads(1)->Threads(2)->Threads(4)->Threads(8);
BENCHMARK(BM_ExtractAnthropic)->UseManualTime()->Threads(1)->Threads(2)->Threads(4)->Threads(8);
BENCHMARK(BM_NewRequestId)->UseManualTime()->Threads(1)->Threads(2)->Threads(4)->Threads(8);

}  // namespace

BENCHMARK_MAIN();
