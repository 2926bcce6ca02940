// Element types, shapes and small helpers shared by the plan executor and its operators.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "backends/backend.h"

namespace octet {
namespace runtime {

enum class ElemType { kFloat32, kInt8, kUint8, kInt32, kInt64, kBool };

const char* ElemTypeName(ElemType t);
// Parses 'float32' | 'int8' | 'uint8' | 'int32' | 'int64' | 'bool'; returns false for anything else.
bool ParseElemType(const std::string& name, ElemType* out);
size_t ElemSize(ElemType t);
inline bool IsQuantized8(ElemType t) {
  return t == ElemType::kInt8 || t == ElemType::kUint8;
}
inline int32_t QMin(ElemType t) {
  return t == ElemType::kInt8 ? -128 : 0;
}
inline int32_t QMax(ElemType t) {
  return t == ElemType::kInt8 ? 127 : 255;
}

using Shape = std::vector<int64_t>;

std::string ShapeString(const Shape& shape);
// Product of the dimensions; the plan parser has already checked that it fits (see kMaxElements).
size_t NumElements(const Shape& shape);

// Largest tensor the executor accepts: 2^40 elements (and 2^44 bytes), far above any model and far below overflow.
constexpr int64_t kMaxElements = int64_t{1} << 40;

// Round half to even (ONNX QuantizeLinear, the vendors' requantization); valid for |x| < 2^52.
inline double RoundHalfEven(double x) {
  return std::nearbyint(x);
}

// Quantizes a real value: clamp(round_half_even(x / scale) + zero_point, lo, hi).
inline int32_t QuantizeValue(double x, double scale, int32_t zero_point, int32_t lo, int32_t hi) {
  double q = RoundHalfEven(x / scale) + zero_point;
  if (!(q >= lo)) q = lo;  // also maps NaN to lo
  if (q > hi) q = hi;
  return static_cast<int32_t>(q);
}

// Row-major strides of a shape, in elements.
std::vector<size_t> Strides(const Shape& shape);

// Numpy broadcasting of `a` and `b`; returns false if incompatible.
bool BroadcastShapes(const Shape& a, const Shape& b, Shape* out);

// Strides of `in` (right-aligned into `out`'s rank) with 0 on broadcast dimensions.
std::vector<size_t> BroadcastStrides(const Shape& in, const Shape& out);

}  // namespace runtime
}  // namespace octet
