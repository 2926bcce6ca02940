// ConvTranspose: NHWC input [N, H, W, C], weights [O, KH, KW, C/group] (OHWI, like Conv), optional bias [O],
// output [N, OH, OW, O] with OH = sh*(H-1) + outputPadding[0] + (KH-1)*dh+1 - pt - pb.
// float32 runs xnn_deconvolution2d_nhwc_f32; int8/uint8 with per-tensor weights runs
// xnn_deconvolution2d_nhwc_qs8 (uint8 through the x ^ 0x80 shift).
// Attributes: group, strides, dilations, pads [t, l, b, r], outputPadding [h, w], activationMin / activationMax.
#include "runtime/ops/conv_geometry.h"
#include "runtime/ops/xnn_op.h"

namespace octet {
namespace runtime {

namespace {

std::unique_ptr<Op> CreateDeconvolution(OpContext& ctx) {
  ctx.ExpectArity(2, 3, 1);
  ctx.ExpectConstant(1, "weights");
  const ValueDesc& x = ctx.input(0);
  const ValueDesc& w = ctx.input(1);
  const ValueDesc& y = ctx.output(0);
  ctx.Expect(x.shape.size() == 4, "expected 4-D NHWC input");
  ctx.Expect(w.shape.size() == 4, "expected 4-D OHWI weights");
  Window2D g;
  g.kh = w.shape[1];
  g.kw = w.shape[2];
  g.groups = ctx.Int("group", 1);
  ReadWindowAttrs(ctx, &g);
  std::vector<int64_t> adj = ctx.Ints("outputPadding", {0, 0});
  ctx.Expect(adj.size() == 2 && adj[0] >= 0 && adj[1] >= 0, "expected outputPadding = [h, w] >= 0");
  ctx.Expect(adj[0] < std::max(g.sh, g.dh) && adj[1] < std::max(g.sw, g.dw),
             "outputPadding must be smaller than the stride or the dilation");
  g.n = x.shape[0];
  g.h = x.shape[1];
  g.w = x.shape[2];
  g.c = x.shape[3];
  g.oc = w.shape[0];
  ctx.Expect(g.groups >= 1 && g.c % g.groups == 0 && g.oc % g.groups == 0, "group must divide the channels");
  ctx.Expect(w.shape[3] * g.groups == g.c, "weights " + ShapeString(w.shape) + " do not match the input channels");
  g.oh = g.sh * (g.h - 1) + adj[0] + (g.kh - 1) * g.dh + 1 - g.pt - g.pb;
  g.ow = g.sw * (g.w - 1) + adj[1] + (g.kw - 1) * g.dw + 1 - g.pl - g.pr;
  ctx.Expect(g.oh > 0 && g.ow > 0 && g.h > 0 && g.w > 0, "the output would be empty");
  ctx.ExpectShape(y, {g.n, g.oh, g.ow, g.oc}, "output");
  if (ctx.has_input(2)) {
    ctx.ExpectConstant(2, "bias");
    ctx.ExpectShape(ctx.input(2), {g.oc}, "bias");
  }
  ctx.Expect(ctx.backend().empty() || ctx.backend() == "xnnpack", "ConvTranspose runs on 'xnnpack'");
  EnsureXnnpack();
  const size_t gi = g.c / g.groups, go = g.oc / g.groups;
  if (x.dtype == ElemType::kFloat32) {
    ctx.ExpectDType(w, ElemType::kFloat32, "weights");
    ctx.ExpectDType(y, ElemType::kFloat32, "output");
    if (ctx.has_input(2)) ctx.ExpectDType(ctx.input(2), ElemType::kFloat32, "bias");
    const float lo = ctx.ActivationMin(), hi = ctx.ActivationMax();
    auto op = MakeXnnOp("deconvolution2d_nhwc_f32", ctx.pool(), [&](xnn_operator_t* o) {
      return xnn_create_deconvolution2d_nhwc_f32(g.pt, g.pr, g.pb, g.pl, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.groups,
                                                 gi, go, g.c, g.oc, ctx.in<float>(1),
                                                 ctx.has_input(2) ? ctx.in<float>(2) : nullptr, lo, hi, 0, o);
    });
    ctx.Packed(1);  // XNNPACK packed the weights and the bias
    ctx.Packed(2);
    xnnpack::Check(xnn_setup_deconvolution2d_nhwc_f32(op->get(), g.n, g.h, g.w, adj[0], adj[1], ctx.in<float>(0),
                                                      ctx.out<float>(0), ctx.pool()),
                   "xnn_setup_deconvolution2d_nhwc_f32");
    return op;
  }
  ctx.Expect(IsQuantized8(x.dtype), std::string("unsupported dtype ") + ElemTypeName(x.dtype));
  ctx.ExpectPerTensorQuant(x, "input");
  ctx.ExpectDType(y, x.dtype, "output");
  ctx.ExpectPerTensorQuant(y, "output");
  ctx.ExpectDType(w, ElemType::kInt8, "weights");
  ctx.Expect(w.has_quant && w.quant.per_tensor() && w.quant.zero_point[0] == 0,
             "int8 ConvTranspose needs symmetric per-tensor weights (XNNPACK has no per-channel deconvolution)");
  if (ctx.has_input(2)) ctx.ExpectDType(ctx.input(2), ElemType::kInt32, "bias");
  const bool u8 = x.dtype == ElemType::kUint8;
  const int32_t shift = u8 ? 128 : 0;
  int32_t lo, hi;
  ctx.QuantizedActivation(y, &lo, &hi);
  auto op = MakeXnnOp("deconvolution2d_nhwc_qs8", ctx.pool(), [&](xnn_operator_t* o) {
    return xnn_create_deconvolution2d_nhwc_qs8(
        g.pt, g.pr, g.pb, g.pl, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.groups, gi, go, g.c, g.oc,
        static_cast<int8_t>(x.quant.zero_point[0] - shift), x.quant.scale[0], w.quant.scale[0], ctx.in<int8_t>(1),
        ctx.has_input(2) ? ctx.in<int32_t>(2) : nullptr, static_cast<int8_t>(y.quant.zero_point[0] - shift),
        y.quant.scale[0], static_cast<int8_t>(lo - shift), static_cast<int8_t>(hi - shift), 0, o);
  });
  ctx.Packed(1);  // XNNPACK packed the weights and the bias
  ctx.Packed(2);
  const int8_t* input = ctx.in<int8_t>(0);
  int8_t* output = ctx.out<int8_t>(0);
  if (u8) {
    auto scratch = std::make_shared<std::vector<int8_t>>(x.elements() + XNN_EXTRA_BYTES);
    const void* src = ctx.in_ptr(0);
    const size_t in_n = x.elements(), out_n = y.elements();
    op->pre_ = [scratch, src, in_n] { FlipSign(src, scratch->data(), in_n); };
    op->post_ = [output, out_n] { FlipSign(output, output, out_n); };
    input = scratch->data();
  }
  xnnpack::Check(
      xnn_setup_deconvolution2d_nhwc_qs8(op->get(), g.n, g.h, g.w, adj[0], adj[1], input, output, ctx.pool()),
      "xnn_setup_deconvolution2d_nhwc_qs8");
  return op;
}

}  // namespace

std::unique_ptr<Op> CreateConvTransposeOp(OpContext& ctx) {
  return CreateDeconvolution(ctx);
}

}  // namespace runtime
}  // namespace octet
