// What the CPU can run, decided at run time so one prebuilt binary serves every x86-64 CPU: kernels
// written for AVX2 + FMA carry SAE_AVX2 and are called only where cpuHasAvx2() says so.
#pragma once

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define SAE_MATCH_X86 1
#define SAE_AVX2 __attribute__((target("avx2,fma")))
#endif

namespace saematch {

#ifdef SAE_MATCH_X86
inline bool cpuHasAvx2() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
}
#endif

// Spin-wait hint (PAUSE on x86): keeps a spinning core from starving its sibling and the memory bus.
inline void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

}  // namespace saematch
