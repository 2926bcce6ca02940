// LayerNormalization (ONNX opset 17), float32, own kernel.
// Inputs X, Scale, B? -> Y, Mean?, InvStdDev?. Attributes: axis (>= 0 after lowering), epsilon (1e-5).
// X is seen as [outer, inner] with inner = prod(X.shape[axis:]); Scale and B hold `inner` elements (the
// lowering expands broadcast constants). Mean / InvStdDev have `outer` elements (shape X.shape[:axis] + 1s).
// Per row: mean, then the variance of (x - mean) (two passes, 8 partial sums so the loops vectorise), then
// y = (x - mean) * inv_std_dev * scale + b with inv_std_dev = 1 / sqrt(var + epsilon).
#include <cmath>
#include <cstring>

#include "runtime/op.h"
#include "runtime/ops/vec8.h"

namespace octet {
namespace runtime {

namespace {

constexpr size_t kLanes = 8;

// One row: mean, variance of (x - mean) (two passes), then y = (x - mean) * inv * g (+ b).
OCTET_VECTOR_CLONES void NormalizeRow(const float* p, const float* g, const float* b, float eps, size_t n, float* r,
                                      float* mean_out, float* inv_out) {
  V8 acc = {};
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) acc += Load8(p + i);
  float tail = 0;
  for (; i < n; ++i) tail += p[i];
  const float mean = n ? (Sum8(acc) + tail) / n : 0.0f;
  V8 sq = {};
  for (i = 0; i + kLanes <= n; i += kLanes) {
    const V8 d = Load8(p + i) - mean;
    sq += d * d;
  }
  tail = 0;
  for (; i < n; ++i) tail += (p[i] - mean) * (p[i] - mean);
  const float var = n ? (Sum8(sq) + tail) / n : 0.0f;
  const float inv = 1.0f / std::sqrt(var + eps);
  if (b) {
    for (i = 0; i < n; ++i) r[i] = (p[i] - mean) * inv * g[i] + b[i];
  } else {
    for (i = 0; i < n; ++i) r[i] = (p[i] - mean) * inv * g[i];
  }
  *mean_out = mean;
  *inv_out = inv;
}

std::unique_ptr<Op> CreateLayerNorm(OpContext& ctx) {
  ctx.ExpectArity(2, 3, ctx.num_outputs());
  ctx.Expect(ctx.num_outputs() >= 1 && ctx.num_outputs() <= 3, "expected 1 to 3 outputs (Y, Mean, InvStdDev)");
  const ValueDesc& x = ctx.input(0);
  ctx.Expect(x.dtype == ElemType::kFloat32,
             std::string("unsupported dtype ") + ElemTypeName(x.dtype) + " (float32 only)");
  const size_t rank = x.shape.size();
  ctx.Expect(rank >= 1, "input must have rank >= 1");
  const int64_t axis = ctx.Axis(ctx.Int("axis", -1), rank, "axis");
  const double epsilon = ctx.Float("epsilon", 1e-5);
  ctx.Expect(epsilon >= 0 && std::isfinite(epsilon), "epsilon must be a finite number >= 0");
  size_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape[d];
  for (size_t d = axis; d < rank; ++d) inner *= x.shape[d];
  const ValueDesc& scale = ctx.input(1);
  ctx.ExpectDType(scale, ElemType::kFloat32, "Scale");
  ctx.Expect(scale.elements() == inner, "Scale must have " + std::to_string(inner) + " elements (X.shape[axis:])");
  const bool has_bias = ctx.has_input(2);
  if (has_bias) {
    ctx.ExpectDType(ctx.input(2), ElemType::kFloat32, "B");
    ctx.Expect(ctx.input(2).elements() == inner, "B must have " + std::to_string(inner) + " elements (X.shape[axis:])");
  }
  ctx.ExpectShape(ctx.output(0), x.shape, "output");
  ctx.ExpectDType(ctx.output(0), ElemType::kFloat32, "output");
  Shape stat = x.shape;
  for (size_t d = axis; d < rank; ++d) stat[d] = 1;
  for (size_t k = 1; k < ctx.num_outputs(); ++k) {
    ctx.ExpectShape(ctx.output(k), stat, k == 1 ? "Mean" : "InvStdDev");
    ctx.ExpectDType(ctx.output(k), ElemType::kFloat32, k == 1 ? "Mean" : "InvStdDev");
  }
  const float* in = ctx.in<float>(0);
  const float* g = ctx.in<float>(1);
  const float* b = has_bias ? ctx.in<float>(2) : nullptr;
  float* out = ctx.out<float>(0);
  float* mean_out = ctx.num_outputs() > 1 ? ctx.out<float>(1) : nullptr;
  float* inv_out = ctx.num_outputs() > 2 ? ctx.out<float>(2) : nullptr;
  const float eps = static_cast<float>(epsilon);
  return MakeOp("own:layer_norm_f32", [=] {
    for (size_t o = 0; o < outer; ++o) {
      float mean, inv;
      NormalizeRow(in + o * inner, g, b, eps, inner, out + o * inner, &mean, &inv);
      if (mean_out) mean_out[o] = mean;
      if (inv_out) inv_out[o] = inv;
    }
  });
}

}  // namespace

std::unique_ptr<Op> CreateLayerNormalizationOp(OpContext& ctx) {
  return CreateLayerNorm(ctx);
}

}  // namespace runtime
}  // namespace octet
