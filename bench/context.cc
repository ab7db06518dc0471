// Adds what a reader of benchmark output needs to reproduce a figure: the
// hx version and build type. Kernel benchmarks live next to their modules
// (src/*/*_bench.cc) and are linked into this one binary.
#include <benchmark/benchmark.h>

namespace {

const bool kContextAdded = [] {
  benchmark::AddCustomContext("hx_version", HX_VERSION);
  benchmark::AddCustomContext("hx_build_type", HX_BUILD_TYPE);
  return true;
}();

}  // namespace
