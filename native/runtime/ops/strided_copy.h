// N-d strided copy: the kernel behind Transpose, Slice, Concat, Split and Pad.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "runtime/tensor.h"

namespace octet {
namespace runtime {

// Copies the box `shape` from src (element strides src_strides, may be negative) to dst (dst_strides).
inline void StridedCopy(const Shape& shape, const uint8_t* src, const std::vector<int64_t>& src_strides, uint8_t* dst,
                        const std::vector<int64_t>& dst_strides, size_t elem) {
  const size_t rank = shape.size();
  if (NumElements(shape) == 0) return;
  if (rank == 0) {
    std::memcpy(dst, src, elem);
    return;
  }
  std::vector<int64_t> idx(rank, 0);
  const int64_t inner = shape[rank - 1];
  const int64_t si = src_strides[rank - 1] * static_cast<int64_t>(elem),
                di = dst_strides[rank - 1] * static_cast<int64_t>(elem);
  const bool contiguous = si == static_cast<int64_t>(elem) && di == static_cast<int64_t>(elem);
  int64_t so = 0, dof = 0;
  while (true) {
    if (contiguous) {
      std::memcpy(dst + dof, src + so, inner * elem);
    } else if (elem == 4) {
      for (int64_t j = 0; j < inner; ++j) std::memcpy(dst + dof + j * di, src + so + j * si, 4);
    } else {
      for (int64_t j = 0; j < inner; ++j) std::memcpy(dst + dof + j * di, src + so + j * si, elem);
    }
    size_t d = rank - 1;
    while (d-- > 0) {
      ++idx[d];
      so += src_strides[d] * static_cast<int64_t>(elem);
      dof += dst_strides[d] * static_cast<int64_t>(elem);
      if (idx[d] < shape[d]) break;
      so -= src_strides[d] * static_cast<int64_t>(elem) * idx[d];
      dof -= dst_strides[d] * static_cast<int64_t>(elem) * idx[d];
      idx[d] = 0;
    }
    if (d == static_cast<size_t>(-1)) return;
  }
}

inline std::vector<int64_t> ContiguousStrides(const Shape& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;) s[i - 1] = s[i] * shape[i];
  return s;
}

}  // namespace runtime
}  // namespace octet
