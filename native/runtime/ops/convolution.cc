// Conv: NHWC input [N, H, W, C], weights [O, KH, KW, C/group] (OHWI; or [O, C/group, KH, KW] with weightLayout
// 'OIHW'), optional bias [O], output [N, OH, OW, O].
// float32 runs xnn_convolution2d_nhwc_f32. int8/uint8 runs XNNPACK qs8 (per-tensor weights) or qc8
// (per-channel weights, axis 0), or oneDNN (backend 'onednn', see onednn_convolution.cc).
// Attributes: group, strides, dilations, pads [t, l, b, r], activationMin / activationMax (fused clamp); int8 on
// oneDNN: fallback 'xnnpack' (run on XNNPACK where oneDNN has only a reference kernel).
#include <cmath>
#include <cstring>

#include "runtime/ops/conv_geometry.h"
#include "runtime/ops/xnn_op.h"

namespace octet {
namespace runtime {

std::unique_ptr<Op> CreateOnednnConvolution(OpContext& ctx, const Window2D& g);
std::unique_ptr<Op> CreateOnednnFloatConvolution(OpContext& ctx, const Window2D& g, float amin, float amax,
                                                 const FloatEpilogue& epi);

// Which library runs a float32 Conv / FullyConnected / MatMul: the node's backend when it names one, else (auto) oneDNN
// wherever it is built in and runs (x86), XNNPACK elsewhere. Measured on AVX2 (docs/BENCHMARKS.md): oneDNN's f32
// JIT convolutions on NHWC took 0.4-0.7x XNNPACK's time for 1x1, depthwise and dense convolutions alike on every
// benchmark model. Empty tensors stay on XNNPACK.
bool FloatOnOnednn(OpContext& ctx, bool empty) {
  if (ctx.backend() == "onednn") return true;
  if (ctx.backend() == "xnnpack" || ctx.backend() == "own" || empty) return false;
#ifdef OCTET_WITH_ONEDNN
  try {
    return GetBackend("onednn") != nullptr;
  } catch (const Error&) {
    return false;
  }
#else
  return false;
#endif
}

namespace {

// Checks weights / bias / quantization shared by every int8 conv path; returns true for per-channel weights.
bool CheckQuantizedConv(OpContext& ctx, const Window2D& g) {
  const ValueDesc& x = ctx.input(0);
  const ValueDesc& w = ctx.input(1);
  const ValueDesc& y = ctx.output(0);
  ctx.ExpectPerTensorQuant(x, "input");
  ctx.ExpectDType(y, x.dtype, "output");
  ctx.ExpectPerTensorQuant(y, "output");
  ctx.ExpectDType(w, ElemType::kInt8, "weights");
  ctx.Expect(w.has_quant, "weights '" + w.name + "' need quant parameters");
  ctx.Expect(w.quant.per_tensor() || w.quant.axis == 0,
             "weights '" + w.name + "' must be quantized per tensor or along axis 0");
  for (int32_t z : w.quant.zero_point) ctx.Expect(z == 0, "weights '" + w.name + "' must be symmetric (zero point 0)");
  if (ctx.has_input(2)) {
    ctx.ExpectDType(ctx.input(2), ElemType::kInt32, "bias");
    ctx.ExpectConstant(2, "bias");
    ctx.ExpectShape(ctx.input(2), {g.oc}, "bias");
  }
  return !w.quant.per_tensor();
}

// [O, C, KH, KW] -> [O, KH, KW, C] for elements of type T, into `dst` (bytes).
template <typename T>
void OihwToOhwiTyped(const void* src, const Shape& s, uint8_t* dst) {
  const size_t o = static_cast<size_t>(s[0]), c = static_cast<size_t>(s[1]);
  const size_t hw = static_cast<size_t>(s[2] * s[3]);
  const T* in = static_cast<const T*>(src);
  T* out = reinterpret_cast<T*>(dst);
  for (size_t a = 0; a < o; ++a, in += c * hw, out += c * hw) {
    for (size_t ci = 0; ci < c; ++ci) {
      for (size_t k = 0; k < hw; ++k) out[k * c + ci] = in[ci * hw + k];
    }
  }
}

// The Conv's weights in OHWI order for XNNPACK: the plan's, or (OIHW) a transposed copy kept in *keep.
const void* OhwiWeights(OpContext& ctx, const Window2D& g, std::vector<uint8_t>* keep) {
  if (!g.weights_oihw) return g.weights;
  const ValueDesc& w = ctx.input(1);
  keep->assign(w.bytes() + XNN_EXTRA_BYTES, 0);
  if (w.dtype == ElemType::kFloat32) {
    OihwToOhwiTyped<float>(g.weights, w.shape, keep->data());
  } else {
    OihwToOhwiTyped<int8_t>(g.weights, w.shape, keep->data());
  }
  return keep->data();
}

std::unique_ptr<Op> CreateXnnpackQuantizedConv(OpContext& ctx, const Window2D& g, bool per_channel) {
  const ValueDesc& x = ctx.input(0);
  const ValueDesc& w = ctx.input(1);
  const ValueDesc& y = ctx.output(0);
  const bool u8 = x.dtype == ElemType::kUint8;
  const int32_t shift = u8 ? 128 : 0;
  int32_t lo, hi;
  ctx.QuantizedActivation(y, &lo, &hi);
  const int8_t x_zp = static_cast<int8_t>(x.quant.zero_point[0] - shift);
  const int8_t y_zp = static_cast<int8_t>(y.quant.zero_point[0] - shift);
  const int32_t* bias = ctx.has_input(2) ? ctx.in<int32_t>(2) : nullptr;
  std::vector<uint8_t> transposed;
  const int8_t* kernel = static_cast<const int8_t*>(OhwiWeights(ctx, g, &transposed));
  const size_t gi = static_cast<size_t>(g.c / g.groups), go = static_cast<size_t>(g.oc / g.groups);
  std::unique_ptr<XnnOp> op;
  if (per_channel) {
    op = MakeXnnOp("convolution2d_nhwc_qc8", ctx.pool(), [&](xnn_operator_t* out) {
      return xnn_create_convolution2d_nhwc_qc8(g.pt, g.pr, g.pb, g.pl, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.groups, gi,
                                               go, g.c, g.oc, x_zp, x.quant.scale[0], w.quant.scale.data(), kernel,
                                               bias, y_zp, y.quant.scale[0], lo - shift, hi - shift, 0, out);
    });
  } else {
    op = MakeXnnOp("convolution2d_nhwc_qs8", ctx.pool(), [&](xnn_operator_t* out) {
      return xnn_create_convolution2d_nhwc_qs8(g.pt, g.pr, g.pb, g.pl, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.groups, gi,
                                               go, g.c, g.oc, x_zp, x.quant.scale[0], w.quant.scale[0], kernel, bias,
                                               y_zp, y.quant.scale[0], lo - shift, hi - shift, 0, out);
    });
  }
  ctx.Packed(1);  // XNNPACK packed the weights and the bias
  ctx.Packed(2);
  const int8_t* input = ctx.in<int8_t>(0);
  int8_t* output = ctx.out<int8_t>(0);
  if (u8) {
    // Signed kernels on unsigned data: x_u8 - z = (x_u8 ^ 0x80) - (z - 128), exactly.
    auto scratch = std::make_shared<std::vector<int8_t>>(x.elements() + XNN_EXTRA_BYTES);
    const void* src = ctx.in_ptr(0);
    const size_t in_n = x.elements(), out_n = y.elements();
    op->pre_ = [scratch, src, in_n] { FlipSign(src, scratch->data(), in_n); };
    op->post_ = [output, out_n] { FlipSign(output, output, out_n); };
    input = scratch->data();
  }
  const auto setup = per_channel ? xnn_setup_convolution2d_nhwc_qc8 : xnn_setup_convolution2d_nhwc_qs8;
  xnnpack::Check(setup(op->get(), g.n, g.h, g.w, input, output, ctx.pool()), "xnn_setup_convolution2d_nhwc_qs8");
  return op;
}

std::unique_ptr<Op> CreateConv(OpContext& ctx) {
  ctx.ExpectArity(2, 3, 1);
  ctx.ExpectConstant(1, "weights");
  const ValueDesc& x = ctx.input(0);
  const ValueDesc& w = ctx.input(1);
  // weightLayout 'OIHW' (ONNX's order, as the model stores it) saves the lowering a transposed copy of every
  // weight; the op transposes one layer at a time here, into a copy that lives while its kernel packs it.
  const std::string layout = ctx.Str("weightLayout", "OHWI");
  ctx.Expect(layout == "OHWI" || layout == "OIHW", "weightLayout must be 'OHWI' or 'OIHW', got '" + layout + "'");
  const bool oihw = layout == "OIHW";
  ctx.Expect(w.shape.size() == 4,
             "expected 4-D " + layout + " weights '" + w.name + "' but the shape is " + ShapeString(w.shape));
  const int64_t per_group = oihw ? w.shape[1] : w.shape[3];
  Window2D g;
  g.kh = oihw ? w.shape[2] : w.shape[1];
  g.kw = oihw ? w.shape[3] : w.shape[2];
  g.groups = ctx.Int("group", 1);
  ReadWindowAttrs(ctx, &g);
  ctx.Expect(x.shape.size() == 4, "expected 4-D NHWC input '" + x.name + "' but its shape is " + ShapeString(x.shape));
  ctx.Expect(g.groups >= 1 && x.shape[3] % g.groups == 0 && w.shape[0] % g.groups == 0,
             "group must divide the input and output channels");
  ctx.Expect(per_group * g.groups == x.shape[3], "weights " + ShapeString(w.shape) + " do not match " +
                                                     std::to_string(x.shape[3]) + " input channels in " +
                                                     std::to_string(g.groups) + " groups (expected " + layout +
                                                     (oihw ? " [O, C/group, KH, KW])" : " [O, KH, KW, C/group])"));
  ctx.Expect(!oihw || w.dtype == ElemType::kFloat32 || w.dtype == ElemType::kInt8,
             "OIHW weights must be float32 or int8");
  g.weights = ctx.in_ptr(1);
  g.weights_oihw = oihw;
  CheckForwardWindow(ctx, &g, w.shape[0]);

  if (x.dtype == ElemType::kFloat32) {
    ctx.ExpectDType(w, ElemType::kFloat32, "weights");
    ctx.ExpectDType(ctx.output(0), ElemType::kFloat32, "output");
    if (ctx.has_input(2)) {
      ctx.ExpectDType(ctx.input(2), ElemType::kFloat32, "bias");
      ctx.ExpectConstant(2, "bias");
      ctx.ExpectShape(ctx.input(2), {g.oc}, "bias");
    }
    const float amin = ctx.ActivationMin(), amax = ctx.ActivationMax();
    ctx.Expect(amin <= amax, "expected activationMin <= activationMax");
    ctx.Expect(ctx.backend().empty() || ctx.backend() == "xnnpack" || ctx.backend() == "onednn",
               "float32 Conv runs on 'xnnpack' or 'onednn'");
    FloatEpilogue epi;
    const std::string act = ctx.Str("activation", "");
    ctx.Expect(act.empty() || act == "HardSwish", "activation must be 'HardSwish' (or absent), got '" + act + "'");
    epi.hard_swish = act == "HardSwish";
    epi.scale = static_cast<float>(ctx.Float("affineScale", 1.0));
    epi.bias = static_cast<float>(ctx.Float("affineBias", 0.0));
    ctx.Expect(std::isfinite(epi.scale) && std::isfinite(epi.bias), "affineScale and affineBias must be finite");
    if (FloatOnOnednn(ctx, ctx.output(0).elements() == 0)) {
#ifdef OCTET_WITH_ONEDNN
      return CreateOnednnFloatConvolution(ctx, g, amin, amax, epi);
#else
      throw Error("ERR_OCTET_BACKEND_UNAVAILABLE", "oneDNN is not built into this binary");
#endif
    }
    std::vector<uint8_t> transposed;
    auto op = MakeXnnOp("convolution2d_nhwc_f32", ctx.pool(), [&](xnn_operator_t* out) {
      return xnn_create_convolution2d_nhwc_f32(g.pt, g.pr, g.pb, g.pl, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.groups,
                                               g.c / g.groups, g.oc / g.groups, g.c, g.oc,
                                               static_cast<const float*>(OhwiWeights(ctx, g, &transposed)),
                                               ctx.has_input(2) ? ctx.in<float>(2) : nullptr, amin, amax, 0, out);
    });
    ctx.Packed(1);  // XNNPACK packed the weights and the bias
    ctx.Packed(2);
    xnnpack::Check(
        xnn_setup_convolution2d_nhwc_f32(op->get(), g.n, g.h, g.w, ctx.in<float>(0), ctx.out<float>(0), ctx.pool()),
        "xnn_setup_convolution2d_nhwc_f32");
    if (epi.active()) {
      // XNNPACK has no such epilogue: one more pass over the output, still cheaper than the separate ops.
      float* y = ctx.out<float>(0);
      const size_t count = ctx.output(0).elements();
      op->post_ = [y, count, epi] { epi.Apply(y, count); };
    }
    return op;
  }
  ctx.Expect(IsQuantized8(x.dtype), std::string("unsupported input dtype ") + ElemTypeName(x.dtype));
  const bool per_channel = CheckQuantizedConv(ctx, g);
  // fallback 'xnnpack': the lowering chose oneDNN for speed (auto), so a geometry oneDNN only has a reference
  // (non-JIT) kernel for (e.g. a depthwise multiplier of 2 on AVX2) runs on XNNPACK instead, with the same results.
  const std::string fallback = ctx.Str("fallback", "");
  ctx.Expect(fallback.empty() || fallback == "xnnpack",
             "fallback must be 'xnnpack' (or absent), got '" + fallback + "'");
  if (ctx.backend() == "onednn") {
#ifdef OCTET_WITH_ONEDNN
    auto op = CreateOnednnConvolution(ctx, g);
    if (fallback.empty() || op->implementation().rfind("onednn:ref", 0) != 0) return op;
    return CreateXnnpackQuantizedConv(ctx, g, per_channel);
#else
    throw Error("ERR_OCTET_BACKEND_UNAVAILABLE", "oneDNN is not built into this binary");
#endif
  }
  ctx.Expect(ctx.backend().empty() || ctx.backend() == "xnnpack", "int8 Conv runs on 'xnnpack' or 'onednn'");
  return CreateXnnpackQuantizedConv(ctx, g, per_channel);
}

}  // namespace

std::unique_ptr<Op> CreateConvOp(OpContext& ctx) {
  EnsureXnnpack();
  return CreateConv(ctx);
}

}  // namespace runtime
}  // namespace octet
