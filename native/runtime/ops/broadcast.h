// Numpy-broadcast iteration for the own elementwise kernels.
#pragma once

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
