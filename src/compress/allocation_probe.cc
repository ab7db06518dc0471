#include "compress/allocation_probe.h"

#include <atomic>
#include <cstdlib>
#include <new>

// Kept in its own translation unit so the compiler cannot inline these
// replacements into callers (GCC would then flag malloc/free against
// new/delete expressions it sees, though the pairing is consistent).
namespace {
std::atomic<bool> g_probe_on{false};
std::atomic<std::size_t> g_largest_allocation{0};
}  // namespace

void* operator new(std::size_t n) {
  if (g_probe_on.load(std::memory_order_relaxed)) {
    std::size_t seen = g_largest_allocation.load(std::memory_order_relaxed);
    while (n > seen && !g_largest_allocation.compare_exchange_weak(seen, n)) {
    }
  }
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace hx {

AllocationProbe::AllocationProbe() {
  g_largest_allocation = 0;
  g_probe_on = true;
}
AllocationProbe::~AllocationProbe() { g_probe_on = false; }
std::size_t AllocationProbe::largest() const { return g_largest_allocation.load(); }

}  // namespace hx
