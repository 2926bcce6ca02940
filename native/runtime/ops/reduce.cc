// ReduceMean / ReduceSum / ReduceMax / ReduceMin / ReduceProd / ReduceL1 / ReduceL2 / ReduceSumSquare /
// ReduceLogSum / ReduceLogSumExp over `axes` (default: all) with `keepdims` (default 1), float32 and int8/uint8
// (dequantize, float64, requantize); own kernel. Accumulation is in float64.
#include <cmath>

#include "runtime/op.h"

namespace octet {
namespace runtime {

namespace {

// kind: index into kNames below. Start value, one element folded in, and the final value from the accumulator.
inline double ReduceStart(int kind) {
  return kind == 2 ? -INFINITY : kind == 3 ? INFINITY : kind == 4 ? 1.0 : 0.0;
}

inline double ReduceStep(int kind, double acc, double v) {
  switch (kind) {
    case 2: return std::max(acc, v);
    case 3: return std::min(acc, v);
    case 4: return acc * v;
    case 5: return acc + std::fabs(v);
    case 6:
    case 7: return acc + v * v;
    case 9: return acc + std::exp(v);
    default: return acc + v;  // Mean, Sum, LogSum
  }
}

inline double ReduceFinish(int kind, double acc, double count) {
  return kind == 0 ? acc / count : kind == 6 ? std::sqrt(acc) : kind >= 8 ? std::log(acc) : acc;
}

template <typename T>
std::unique_ptr<Op> OwnReduce(OpContext& ctx, const std::vector<bool>& reduced) {
  const ValueDesc& x = ctx.input(0);
  const ValueDesc& y = ctx.output(0);
  const std::string op = ctx.node().op;
  static const char* const kNames[] = {"ReduceMean", "ReduceSum", "ReduceMax",       "ReduceMin",    "ReduceProd",
                                       "ReduceL1",   "ReduceL2",  "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp"};
  int kind = 0;
  for (int k = 0; k < 10; ++k) {
    if (op == kNames[k]) kind = k;
  }
  const bool q = IsQuantized8(x.dtype);
  const double sx = q ? x.quant.scale[0] : 1, sy = q ? y.quant.scale[0] : 1;
  const int32_t zx = q ? x.quant.zero_point[0] : 0, zy = q ? y.quant.zero_point[0] : 0;
  const int32_t lo = QMin(y.dtype), hi = QMax(y.dtype);
  const Shape shape = x.shape;
  const size_t rank = shape.size(), n = x.elements(), out_n = y.elements();
  // Output strides over the input's rank (0 on reduced axes).
  std::vector<size_t> ostride(rank, 0);
  size_t s = 1;
  for (size_t d = rank; d-- > 0;) {
    if (!reduced[d]) {
      ostride[d] = s;
      s *= shape[d];
    }
  }
  const T* in = ctx.in<T>(0);
  T* out = ctx.out<T>(0);
  // Reduced axes that are the innermost ones (LayerNorm's mean over the last axis): each output is the reduction of
  // one contiguous block, summed in the same order as the general loop below, so with the same result.
  size_t inner = 1, first_reduced = rank;
  while (first_reduced > 0 && reduced[first_reduced - 1]) inner *= shape[--first_reduced];
  bool suffix = first_reduced < rank;
  for (size_t d = 0; d < first_reduced; ++d) suffix = suffix && !reduced[d];
  if (suffix && !q && out_n > 0 && inner > 0 && out_n * inner == n) {
    return MakeOp("own:reduce(inner)", [=] {
      for (size_t j = 0; j < out_n; ++j) {
        const T* p = in + j * inner;
        double acc = ReduceStart(kind);
        if (kind <= 1) {
          for (size_t i = 0; i < inner; ++i) acc += double(p[i]);  // the common case, kept branch-free
        } else {
          for (size_t i = 0; i < inner; ++i) acc = ReduceStep(kind, acc, double(p[i]));
        }
        out[j] = static_cast<T>(ReduceFinish(kind, acc, static_cast<double>(inner)));
      }
    });
  }
  return MakeOp("own:reduce", [=] {
    std::vector<double> acc(out_n, ReduceStart(kind));
    std::vector<size_t> idx(rank, 0);
    size_t o = 0;
    for (size_t i = 0; i < n; ++i) {
      const double v = q ? (double(in[i]) - zx) * sx : double(in[i]);
      acc[o] = ReduceStep(kind, acc[o], v);
      for (size_t d = rank; d-- > 0;) {
        ++idx[d];
        o += ostride[d];
        if (idx[d] < static_cast<size_t>(shape[d])) break;
        o -= ostride[d] * idx[d];
        idx[d] = 0;
      }
    }
    const double count = out_n ? static_cast<double>(n) / out_n : 1;
    for (size_t j = 0; j < out_n; ++j) {
      const double v = ReduceFinish(kind, acc[j], count);
      out[j] = q ? static_cast<T>(QuantizeValue(v, sy, zy, lo, hi)) : static_cast<T>(v);
    }
  });
}

std::unique_ptr<Op> CreateReduce(OpContext& ctx) {
  ctx.ExpectArity(1, 1, 1);
  const ValueDesc& x = ctx.input(0);
  const ValueDesc& y = ctx.output(0);
  ctx.ExpectDType(y, x.dtype, "output");
  const size_t rank = x.shape.size();
  std::vector<int64_t> axes = ctx.Ints("axes", {});
  const bool keep = ctx.Int("keepdims", 1) != 0;
  std::vector<bool> reduced(rank, axes.empty());
  for (int64_t a : axes) reduced[ctx.Axis(a, rank, "axes")] = true;
  Shape out;
  for (size_t d = 0; d < rank; ++d) {
    if (!reduced[d]) {
      out.push_back(x.shape[d]);
    } else if (keep) {
      out.push_back(1);
    }
  }
  ctx.ExpectShape(y, out, "output");
  ctx.Expect(x.elements() > 0, "empty tensors are not supported");
  switch (x.dtype) {
    case ElemType::kFloat32: return OwnReduce<float>(ctx, reduced);
    case ElemType::kInt8:
    case ElemType::kUint8:
      ctx.ExpectPerTensorQuant(x, "input");
      ctx.ExpectPerTensorQuant(y, "output");
      return x.dtype == ElemType::kInt8 ? OwnReduce<int8_t>(ctx, reduced) : OwnReduce<uint8_t>(ctx, reduced);
    default: throw ctx.Fail(std::string("unsupported dtype ") + ElemTypeName(x.dtype));
  }
}

}  // namespace

std::unique_ptr<Op> CreateReduceOp(OpContext& ctx) {
  return CreateReduce(ctx);
}

}  // namespace runtime
}  // namespace octet
