// Chooses the BLAKE3 backend from what the CPU and the operating system
// support. A SIMD backend needs both: the CPU must have the instructions
// (cpuid) and the OS must save the wider registers on context switches
// (xgetbv, XCR0), or the upper halves would be corrupted between threads.
#include "hash/blake3_internal.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace hx {
namespace {

using blake3_internal::Kernels;

struct CpuFeatures {
  bool sse41 = false;
  bool avx2 = false;
  bool avx512 = false;  // AVX-512F and AVX-512VL
};

#if defined(__x86_64__)
// XCR0 via xgetbv; written as inline assembly so that this file needs no
// -mxsave flag and stays baseline x86-64.
std::uint64_t ReadXcr0() {
  std::uint32_t eax = 0;
  std::uint32_t edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<std::uint64_t>(edx) << 32) | eax;
}
#endif

CpuFeatures DetectCpu() {
  CpuFeatures features;
#if defined(__x86_64__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) return features;
  const bool sse41 = (ecx & (1u << 19)) != 0;
  const bool osxsave = (ecx & (1u << 27)) != 0;
  const bool avx = (ecx & (1u << 28)) != 0;
  const std::uint64_t xcr0 = osxsave ? ReadXcr0() : 0;
  // XCR0 bits: 1 SSE, 2 AVX (upper ymm); 5 opmask, 6 upper zmm0-15, 7 zmm16-31.
  const bool os_saves_ymm = (xcr0 & 0x6) == 0x6;
  const bool os_saves_zmm = (xcr0 & 0xE6) == 0xE6;
  bool avx2 = false, avx512f = false, avx512vl = false;
  if (__get_cpuid_max(0, nullptr) >= 7) {
    __cpuid_count(7, 0, eax, ebx, ecx, edx);
    avx2 = (ebx & (1u << 5)) != 0;
    avx512f = (ebx & (1u << 16)) != 0;
    avx512vl = (ebx & (1u << 31)) != 0;
  }
  features.sse41 = sse41;
  features.avx2 = sse41 && avx && os_saves_ymm && avx2;
  features.avx512 = features.avx2 && os_saves_zmm && avx512f && avx512vl;
#endif
  return features;
}

const CpuFeatures& Cpu() {
  static const CpuFeatures features = DetectCpu();
  return features;
}

bool IsAvailable(Blake3Backend backend) {
  switch (backend) {
    case Blake3Backend::kPortable:
      return true;
    case Blake3Backend::kSse41:
      return Cpu().sse41;
    case Blake3Backend::kAvx2:
      return Cpu().avx2;
    case Blake3Backend::kAvx512:
      return Cpu().avx512;
  }
  return false;
}

constexpr Kernels kPortableKernels = {blake3_internal::PortableCompressInPlace,
                                      blake3_internal::PortableCompressXof,
                                      blake3_internal::PortableHashMany, 1};
#if defined(__x86_64__)
constexpr Kernels kSse41Kernels = {blake3_internal::Sse41CompressInPlace,
                                   blake3_internal::Sse41CompressXof,
                                   blake3_internal::Sse41HashMany, 4};
constexpr Kernels kAvx2Kernels = {blake3_internal::Sse41CompressInPlace,
                                  blake3_internal::Sse41CompressXof, blake3_internal::Avx2HashMany,
                                  8};
constexpr Kernels kAvx512Kernels = {blake3_internal::Avx512CompressInPlace,
                                    blake3_internal::Avx512CompressXof,
                                    blake3_internal::Avx512HashMany, 16};
#endif

}  // namespace

std::string_view ToString(Blake3Backend backend) {
  switch (backend) {
    case Blake3Backend::kPortable:
      return "portable";
    case Blake3Backend::kSse41:
      return "sse41";
    case Blake3Backend::kAvx2:
      return "avx2";
    case Blake3Backend::kAvx512:
      return "avx512";
  }
  return "unknown";
}

std::vector<Blake3Backend> AvailableBlake3Backends() {
  std::vector<Blake3Backend> backends;
  for (Blake3Backend backend : {Blake3Backend::kPortable, Blake3Backend::kSse41,
                                Blake3Backend::kAvx2, Blake3Backend::kAvx512}) {
    if (IsAvailable(backend)) backends.push_back(backend);
  }
  return backends;
}

Blake3Backend DefaultBlake3Backend() {
  static const Blake3Backend backend = [] {
    if (IsAvailable(Blake3Backend::kAvx512)) return Blake3Backend::kAvx512;
    if (IsAvailable(Blake3Backend::kAvx2)) return Blake3Backend::kAvx2;
    if (IsAvailable(Blake3Backend::kSse41)) return Blake3Backend::kSse41;
    return Blake3Backend::kPortable;
  }();
  return backend;
}

namespace blake3_internal {

bool IsBackendAvailable(Blake3Backend backend) { return IsAvailable(backend); }

const Kernels& KernelsFor(Blake3Backend backend) {
  switch (backend) {
#if defined(__x86_64__)
    case Blake3Backend::kSse41:
      return kSse41Kernels;
    case Blake3Backend::kAvx2:
      return kAvx2Kernels;
    case Blake3Backend::kAvx512:
      return kAvx512Kernels;
#endif
    default:
      return kPortableKernels;
  }
}

}  // namespace blake3_internal
}  // namespace hx
