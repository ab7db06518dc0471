// Test-only allocation probe: allocation_probe.cc replaces the global
// operator new of the test binary it is linked into, so that a test can
// record the largest single allocation made through it (std::vector output
// buffers included) while an AllocationProbe is alive.
//
// Thread-safety: one probe at a time; the counter itself is atomic.
#pragma once

#include <cstddef>

namespace hx {

class AllocationProbe {
 public:
  AllocationProbe();
  ~AllocationProbe();
  AllocationProbe(const AllocationProbe&) = delete;
  AllocationProbe& operator=(const AllocationProbe&) = delete;

  // The largest size passed to operator new since construction.
  std::size_t largest() const;
};

}  // namespace hx
