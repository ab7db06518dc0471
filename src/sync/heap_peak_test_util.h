// Test-only heap accounting: heap_peak_test_util.cc replaces the global
// operator new and delete of the test binary it is linked into (and only
// of that one: link it into a binary of its own) and counts the bytes live
// through them, so that a test can ask how much heap a phase held at most.
//
// What is counted: every allocation made through operator new (every
// std::string, std::vector, std::map node... of the engine), at the size
// the allocator really gave (malloc_usable_size: rounding included, as
// jemalloc's size classes are in the hx binary). Not counted: what C
// libraries allocate with malloc themselves (SQLite's page cache, capped by
// the index; zstd's and OpenSSL's contexts) — bounded by their own settings,
// not by the vault's size.
//
// Thread-safety: the counters are atomic (the scan and the uploader
// allocate on worker threads); one HeapPeak scope at a time.
#pragma once

#include <cstdint>

namespace hx::testing {

// Measures the heap a scope holds at most above what was live when it
// began.
class HeapPeak {
 public:
  // Starts a measurement: the peak is reset to the bytes live now.
  HeapPeak();
  HeapPeak(const HeapPeak&) = delete;
  HeapPeak& operator=(const HeapPeak&) = delete;

  // The most bytes live at once since construction, less those live at
  // construction.
  std::int64_t peak_bytes() const;
  // Bytes live now, less those live at construction.
  std::int64_t live_bytes() const;

 private:
  std::int64_t start_;
};

// Bytes live through operator new now (all of the process).
std::int64_t LiveHeapBytes();

}  // namespace hx::testing
