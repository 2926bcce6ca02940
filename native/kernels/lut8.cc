#include "kernels/lut8.h"

#include <cpuinfo.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace octet {
namespace kernels {

void Lut8Scalar(const uint8_t* table, const uint8_t* in, uint8_t* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = table[in[i]];
}

#if defined(__x86_64__)
namespace {

// Bytes 0..127 index the low half of the table with vpermi2b (two 64-byte registers), 128..255 the high half;
// bit 7 of the index picks between the two results.
__attribute__((target("avx512f,avx512bw,avx512vbmi"))) void Lut8Vbmi(const uint8_t* table, const uint8_t* in,
                                                                     uint8_t* out, size_t n) {
  const __m512i t0 = _mm512_loadu_si512(table);
  const __m512i t1 = _mm512_loadu_si512(table + 64);
  const __m512i t2 = _mm512_loadu_si512(table + 128);
  const __m512i t3 = _mm512_loadu_si512(table + 192);
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    const __m512i x = _mm512_loadu_si512(in + i);
    const __m512i lo = _mm512_permutex2var_epi8(t0, x, t1);
    const __m512i hi = _mm512_permutex2var_epi8(t2, x, t3);
    const __mmask64 high = _mm512_movepi8_mask(x);
    _mm512_storeu_si512(out + i, _mm512_mask_blend_epi8(high, lo, hi));
  }
  if (i < n) {
    const __mmask64 m = (~uint64_t{0}) >> (64 - (n - i));
    const __m512i x = _mm512_maskz_loadu_epi8(m, in + i);
    const __m512i lo = _mm512_permutex2var_epi8(t0, x, t1);
    const __m512i hi = _mm512_permutex2var_epi8(t2, x, t3);
    _mm512_mask_storeu_epi8(out + i, m, _mm512_mask_blend_epi8(_mm512_movepi8_mask(x), lo, hi));
  }
}

bool HasVbmi() {
  static const bool has = cpuinfo_initialize() && cpuinfo_has_x86_avx512vbmi() && cpuinfo_has_x86_avx512bw();
  return has;
}

}  // namespace
#endif

void Lut8(const uint8_t* table, const uint8_t* in, uint8_t* out, size_t n) {
#if defined(__x86_64__)
  if (HasVbmi()) {
    Lut8Vbmi(table, in, out, n);
    return;
  }
#endif
  Lut8Scalar(table, in, out, n);
}

}  // namespace kernels
}  // namespace octet
