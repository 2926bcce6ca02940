// 8-float vector helpers for own float32 kernels (LayerNormalization, the recurrent ops): a portable GCC vector
// type that keeps partial sums in registers, and OCTET_VECTOR_CLONES, which gives a function an AVX2+FMA
// (Haswell) clone beside the baseline x86-64 one, picked when the addon loads.
#pragma once

#include <cstring>

#if defined(__x86_64__) && defined(__GNUC__)
#define OCTET_VECTOR_CLONES __attribute__((target_clones("arch=haswell", "default")))
#else
#define OCTET_VECTOR_CLONES
#endif
// The helpers below are always inlined into the clones, so the vector ABI note GCC gives for them is moot.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace octet {
namespace runtime {

typedef float V8 __attribute__((vector_size(32)));

inline V8 Load8(const float* p) {
  V8 v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

inline float Sum8(V8 v) {
  return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]));
}

}  // namespace runtime
}  // namespace octet
