// Counts heap allocations (malloc, calloc, realloc) by thread: those of the SDK's worker
// thread ("opsmeter-worker") and all the others. Loaded into a program with LD_PRELOAD; prints
// one JSON line to stderr when the program exits. Run a delivery twice with different record
// counts and take the difference per record, so set-up and exit do not count:
//   LD_PRELOAD=build/dev/bench/libopsmeter_thread_allocs.so build/dev/bench/opsmeter-load ...
// (the bare libcurl program has no worker thread: all its allocations show as "other").
#include <sys/prctl.h>

#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstring>

extern "C" void* __libc_malloc(std::size_t size);
extern "C" void* __libc_calloc(std::size_t count, std::size_t size);
extern "C" void* __libc_realloc(void* pointer, std::size_t size);

namespace {

std::atomic<long> worker_allocations{0};
std::atomic<long> other_allocations{0};
thread_local int on_worker = -1;   // unknown until looked up
thread_local int since_lookup = 0;

void count() {
  // The worker names itself after it starts: look the name up again now and then.
  if (on_worker < 0 || ++since_lookup > 4096) {
    char name[16] = {};
    prctl(PR_GET_NAME, name);
    on_worker = std::strcmp(name, "opsmeter-worker") == 0 ? 1 : 0;
    since_lookup = 0;
  }
  (on_worker ? worker_allocations : other_allocations).fetch_add(1, std::memory_order_relaxed);
}

struct Report {
  ~Report() {
    std::fprintf(stderr, "{\"worker_allocations\":%ld,\"other_allocations\":%ld}\n", worker_allocations.load(),
                 other_allocations.load());
  }
} report;

}  // namespace

extern "C" void* malloc(std::size_t size) {
  count();
  return __libc_malloc(size);
}
extern "C" void* calloc(std::size_t count_, std::size_t size) {
  count();
  return __libc_calloc(count_, size);
}
extern "C" void* realloc(void* pointer, std::size_t size) {
  count();
  return __libc_realloc(pointer, size);
}
