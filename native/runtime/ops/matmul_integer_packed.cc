// MatMulInteger with a constant 2-D B (dynamic quantization's weights): B - zb is packed once, transposed, as int16
// rows of K padded to 16; each run widens A - za to int16 and takes int16 dot products with int32 sums (AVX2
// vpmaddwd where the CPU has it, a plain loop elsewhere). Exact: |a - za|, |b - zb| <= 255, so for K <= 32768 no
// sum leaves int32 (K * 255 * 255 < 2^31), and the results equal the reference loop's bit for bit.
#include <pthreadpool.h>

#include <cstring>
#include <memory>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define OCTET_X86 1
#endif

#include "runtime/op.h"

namespace octet {
namespace runtime {

namespace {

constexpr size_t kLanes = 16;

struct PackedMatMulInteger {
  size_t rows = 0, k = 0, kp = 0, n = 0;
  bool a_u8 = false;
  const void* a = nullptr;
  const void* a_zp = nullptr;
  int32_t* y = nullptr;
  std::vector<int16_t> bt;   // [n][kp]
  std::vector<int16_t> a16;  // [rows][kp], per run
  bool avx2 = false;
};

void DotRowsGeneric(const PackedMatMulInteger& p, size_t r0, size_t r1) {
  for (size_t r = r0; r < r1; ++r) {
    const int16_t* a = p.a16.data() + r * p.kp;
    for (size_t c = 0; c < p.n; ++c) {
      const int16_t* b = p.bt.data() + c * p.kp;
      int32_t acc = 0;
      for (size_t i = 0; i < p.kp; ++i) acc += static_cast<int32_t>(a[i]) * b[i];
      p.y[r * p.n + c] = acc;
    }
  }
}

#ifdef OCTET_X86
__attribute__((target("avx2"))) inline int32_t Hsum(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

// Two rows of A against four columns of B per block: 8 accumulators, 6 loads per 8 vpmaddwd.
__attribute__((target("avx2"))) void DotRowsAvx2(const PackedMatMulInteger& p, size_t r0, size_t r1) {
  const size_t kp = p.kp, n = p.n;
  for (size_t r = r0; r < r1; r += 2) {
    const bool two = r + 1 < r1;
    const int16_t* a0 = p.a16.data() + r * kp;
    const int16_t* a1 = two ? a0 + kp : a0;
    size_t c = 0;
    for (; c + 4 <= n; c += 4) {
      const int16_t* b = p.bt.data() + c * kp;
      __m256i s00 = _mm256_setzero_si256(), s01 = s00, s02 = s00, s03 = s00;
      __m256i s10 = s00, s11 = s00, s12 = s00, s13 = s00;
      for (size_t i = 0; i < kp; i += kLanes) {
        const __m256i x0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a0 + i));
        const __m256i x1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a1 + i));
        const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i));
        const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + kp + i));
        const __m256i w2 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 2 * kp + i));
        const __m256i w3 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 3 * kp + i));
        s00 = _mm256_add_epi32(s00, _mm256_madd_epi16(x0, w0));
        s01 = _mm256_add_epi32(s01, _mm256_madd_epi16(x0, w1));
        s02 = _mm256_add_epi32(s02, _mm256_madd_epi16(x0, w2));
        s03 = _mm256_add_epi32(s03, _mm256_madd_epi16(x0, w3));
        s10 = _mm256_add_epi32(s10, _mm256_madd_epi16(x1, w0));
        s11 = _mm256_add_epi32(s11, _mm256_madd_epi16(x1, w1));
        s12 = _mm256_add_epi32(s12, _mm256_madd_epi16(x1, w2));
        s13 = _mm256_add_epi32(s13, _mm256_madd_epi16(x1, w3));
      }
      int32_t* y0 = p.y + r * n + c;
      y0[0] = Hsum(s00);
      y0[1] = Hsum(s01);
      y0[2] = Hsum(s02);
      y0[3] = Hsum(s03);
      if (two) {
        int32_t* y1 = y0 + n;
        y1[0] = Hsum(s10);
        y1[1] = Hsum(s11);
        y1[2] = Hsum(s12);
        y1[3] = Hsum(s13);
      }
    }
    for (; c < n; ++c) {
      const int16_t* b = p.bt.data() + c * kp;
      __m256i s0 = _mm256_setzero_si256(), s1 = s0;
      for (size_t i = 0; i < kp; i += kLanes) {
        const __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i));
        s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a0 + i)), w));
        s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a1 + i)), w));
      }
      p.y[r * n + c] = Hsum(s0);
      if (two) p.y[(r + 1) * n + c] = Hsum(s1);
    }
  }
}
#endif

// pthreadpool task: rows [2 * i, 2 * i + 2).
void RunPair(void* context, size_t i) {
  const auto& p = *static_cast<const PackedMatMulInteger*>(context);
  const size_t r0 = 2 * i, r1 = std::min(p.rows, r0 + 2);
#ifdef OCTET_X86
  if (p.avx2) return DotRowsAvx2(p, r0, r1);
#endif
  DotRowsGeneric(p, r0, r1);
}

class PackedMatMulIntegerOp final : public Op {
 public:
  PackedMatMulIntegerOp(std::unique_ptr<PackedMatMulInteger> p, pthreadpool_t pool) : p_(std::move(p)), pool_(pool) {}

  void Run() override {
    PackedMatMulInteger& p = *p_;
    const int32_t za = p.a_zp == nullptr ? 0
                       : p.a_u8          ? *static_cast<const uint8_t*>(p.a_zp)
                                         : *static_cast<const int8_t*>(p.a_zp);
    for (size_t r = 0; r < p.rows; ++r) {
      int16_t* dst = p.a16.data() + r * p.kp;
      if (p.a_u8) {
        const uint8_t* src = static_cast<const uint8_t*>(p.a) + r * p.k;
        for (size_t i = 0; i < p.k; ++i) dst[i] = static_cast<int16_t>(src[i] - za);
      } else {
        const int8_t* src = static_cast<const int8_t*>(p.a) + r * p.k;
        for (size_t i = 0; i < p.k; ++i) dst[i] = static_cast<int16_t>(src[i] - za);
      }
    }
    pthreadpool_parallelize_1d(pool_, RunPair, &p, (p.rows + 1) / 2, 0);
  }

  std::string implementation() const override {
    return p_->avx2 ? "own:matmul_integer_packed(avx2)" : "own:matmul_integer_packed";
  }

 private:
  std::unique_ptr<PackedMatMulInteger> p_;
  pthreadpool_t pool_;
};

}  // namespace

// a: A (rows x k, row-major, int8 or uint8); b: constant B [k, n]; zb: B's zero point per column (n entries).
std::unique_ptr<Op> CreatePackedMatMulInteger(OpContext& ctx, size_t rows, size_t k, size_t n, bool a_u8,
                                              const void* a_zp, const std::vector<int32_t>& zb) {
  auto p = std::make_unique<PackedMatMulInteger>();
  p->rows = rows;
  p->k = k;
  p->kp = (k + kLanes - 1) / kLanes * kLanes;
  p->n = n;
  p->a_u8 = a_u8;
  p->a = ctx.in_ptr(0);
  p->a_zp = a_zp;
  p->y = ctx.out<int32_t>(0);
  const bool b_u8 = ctx.input(1).dtype == ElemType::kUint8;
  const void* b = ctx.in_ptr(1);
  p->bt.assign(n * p->kp, 0);
  for (size_t r = 0; r < k; ++r) {
    for (size_t c = 0; c < n; ++c) {
      const int32_t v = b_u8 ? static_cast<const uint8_t*>(b)[r * n + c] : static_cast<const int8_t*>(b)[r * n + c];
      p->bt[c * p->kp + r] = static_cast<int16_t>(v - zb[c]);
    }
  }
  p->a16.assign(rows * p->kp, 0);
#ifdef OCTET_X86
  p->avx2 = __builtin_cpu_supports("avx2");
#endif
  return std::make_unique<PackedMatMulIntegerOp>(std::move(p), ctx.pool());
}

}  // namespace runtime
}  // namespace octet
