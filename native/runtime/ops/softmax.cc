// Softmax / LogSoftmax along one axis (attribute axis, default -1; ONNX opset-13 semantics).
// float32 Softmax on the last axis runs xnn_softmax_nc_f32; other axes, LogSoftmax and int8/uint8 (dequantize,
// float64 softmax, requantize) run an own kernel.
#include <cmath>

#include "runtime/ops/xnn_op.h"

namespace octet {
namespace runtime {

namespace {

template <typename T>
std::unique_ptr<Op> OwnSoftmax(OpContext& ctx, size_t outer, size_t dim, size_t inner, bool log) {
  const ValueDesc& x = ctx.input(0);
  const ValueDesc& y = ctx.output(0);
  const bool q = IsQuantized8(x.dtype);
  const double sx = q ? x.quant.scale[0] : 1, sy = q ? y.quant.scale[0] : 1;
  const int32_t zx = q ? x.quant.zero_point[0] : 0, zy = q ? y.quant.zero_point[0] : 0;
  const int32_t lo = QMin(y.dtype), hi = QMax(y.dtype);
  const T* in = ctx.in<T>(0);
  T* out = ctx.out<T>(0);
  return MakeOp(log ? "own:log_softmax" : "own:softmax", [=] {
    std::vector<double> v(dim);
    for (size_t o = 0; o < outer; ++o)
      for (size_t i = 0; i < inner; ++i) {
        const T* p = in + o * dim * inner + i;
        T* r = out + o * dim * inner + i;
        double m = -INFINITY;
        for (size_t d = 0; d < dim; ++d) {
          v[d] = q ? (double(p[d * inner]) - zx) * sx : double(p[d * inner]);
          m = std::max(m, v[d]);
        }
        double sum = 0;
        for (size_t d = 0; d < dim; ++d) sum += std::exp(v[d] - m);
        for (size_t d = 0; d < dim; ++d) {
          const double res = log ? v[d] - m - std::log(sum) : std::exp(v[d] - m) / sum;
          r[d * inner] = q ? static_cast<T>(QuantizeValue(res, sy, zy, lo, hi)) : static_cast<T>(res);
        }
      }
  });
}

std::unique_ptr<Op> CreateSoftmax(OpContext& ctx) {
  ctx.ExpectArity(1, 1, 1);
  const ValueDesc& x = ctx.input(0);
  const ValueDesc& y = ctx.output(0);
  ctx.ExpectShape(y, x.shape, "output");
  ctx.ExpectDType(y, x.dtype, "output");
  ctx.Expect(!x.shape.empty(), "input must have rank >= 1");
  const size_t rank = x.shape.size();
  const int64_t axis = ctx.Axis(ctx.Int("axis", -1), rank, "axis");
  const bool log = ctx.node().op == "LogSoftmax";
  size_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape[d];
  for (size_t d = axis + 1; d < rank; ++d) inner *= x.shape[d];
  const size_t dim = x.shape[axis];
  if (x.dtype == ElemType::kFloat32) {
    if (!log && inner == 1 && ctx.backend() != "own" && outer * dim > 0) {
      EnsureXnnpack();
      auto op = MakeXnnOp("softmax_nc_f32", ctx.pool(),
                          [&](xnn_operator_t* o) { return xnn_create_softmax_nc_f32(dim, dim, dim, 0, o); });
      xnnpack::Check(xnn_setup_softmax_nc_f32(op->get(), outer, ctx.in<float>(0), ctx.out<float>(0), ctx.pool()),
                     "xnn_setup_softmax_nc_f32");
      return op;
    }
    return OwnSoftmax<float>(ctx, outer, dim, inner, log);
  }
  ctx.Expect(IsQuantized8(x.dtype), std::string("unsupported dtype ") + ElemTypeName(x.dtype));
  ctx.ExpectPerTensorQuant(x, "input");
  ctx.ExpectPerTensorQuant(y, "output");
  if (x.dtype == ElemType::kInt8) return OwnSoftmax<int8_t>(ctx, outer, dim, inner, log);
  return OwnSoftmax<uint8_t>(ctx, outer, dim, inner, log);
}

}  // namespace

std::unique_ptr<Op> CreateSoftmaxOp(OpContext& ctx) {
  return CreateSoftmax(ctx);
}

}  // namespace runtime
}  // namespace octet
