// Numpy-broadcast iteration for the own elementwise kernels.
#pragma once

#include <array>
#include <cstddef>
#include <vector>

#include "runtime/tensor.h"

namespace octet {
namespace runtime {

// Calls fn(out_index, a_index, b_index) for every element of `out`, where a/b strides are BroadcastStrides.
template <typename Fn>
void ForEachBroadcast(const Shape& out, const std::vector<size_t>& sa, const std::vector<size_t>& sb, Fn fn) {
  const size_t rank = out.size();
  const size_t total = NumElements(out);
  if (total == 0) return;
  if (rank == 0) {
    fn(0, 0, 0);
    return;
  }
  std::vector<size_t> idx(rank, 0);
  size_t ia = 0, ib = 0;
  const size_t inner = static_cast<size_t>(out[rank - 1]);
  const size_t ca = sa[rank - 1], cb = sb[rank - 1];
  for (size_t i = 0; i < total; i += inner) {
    for (size_t j = 0; j < inner; ++j) fn(i + j, ia + j * ca, ib + j * cb);
    // advance the outer counters
    for (size_t d = rank - 1; d-- > 0;) {
      ++idx[d];
      ia += sa[d];
      ib += sb[d];
      if (idx[d] < static_cast<size_t>(out[d])) break;
      ia -= sa[d] * idx[d];
      ib -= sb[d] * idx[d];
      idx[d] = 0;
    }
  }
}

// Dequantization parameters of a per-tensor 8-bit value, or identity for float32.
struct Affine {
  double scale = 1;
  int32_t zero_point = 0;
};

}  // namespace runtime
}  // namespace octet

namespace octet {
namespace runtime {

// ForEachBroadcast for N inputs: fn(out_index, offsets) with offsets[k] the flat index into input k, whose
// strides come from BroadcastStrides(input_k.shape, out).
template <size_t N, typename Fn>
void ForEachBroadcastN(const Shape& out, const std::array<std::vector<size_t>, N>& strides, Fn fn) {
  const size_t rank = out.size();
  const size_t total = NumElements(out);
  std::array<size_t, N> off{};
  if (total == 0) return;
  if (rank == 0) {
    fn(size_t{0}, off);
    return;
  }
  std::vector<size_t> idx(rank, 0);
  for (size_t i = 0; i < total; ++i) {
    fn(i, off);
    for (size_t d = rank; d-- > 0;) {
      ++idx[d];
      for (size_t k = 0; k < N; ++k) off[k] += strides[k][d];
      if (idx[d] < static_cast<size_t>(out[d])) break;
      for (size_t k = 0; k < N; ++k) off[k] -= strides[k][d] * idx[d];
      idx[d] = 0;
    }
  }
}

// Calls fn(T{}) with T the C++ element type of a plan dtype (bool as uint8_t).
template <typename Fn>
decltype(auto) WithElemType(ElemType t, Fn&& fn) {
  switch (t) {
    case ElemType::kFloat32: return fn(float{});
    case ElemType::kInt8: return fn(int8_t{});
    case ElemType::kInt32: return fn(int32_t{});
    case ElemType::kInt64: return fn(int64_t{});
    case ElemType::kUint8:
    case ElemType::kBool: break;
  }
  return fn(uint8_t{});
}

}  // namespace runtime
}  // namespace octet
