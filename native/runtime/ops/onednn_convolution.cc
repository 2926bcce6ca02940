// Conv on oneDNN.
// int8 (backend 'onednn'): convolution_forward with s8/u8 NHWC src/dst, s8 weights reordered once into the layout
// the primitive asks for, s32 bias, per-channel output scales x_scale * w_scale[o] / y_scale, runtime src/dst zero
// points, and the fused clamp as a clip post-op (applied before the dst zero point; without VNNI followed by a
// rounding post-op, see onednn::RoundBeforeZeroPoint).
// float32 (see FloatConvOnOnednn in convolution.cc): the same primitive in f32, NHWC src/dst as the plan lays them
// out (no reorder per run), weights reordered once, f32 bias, the fused clamp as a relu or clip post-op. Its kernel
// name is "onednn:conv_f32:<impl>" (like "onednn:matmul_f32:<impl>"), so int8 and float32 kernels read apart.
#ifdef OCTET_WITH_ONEDNN

#include <limits>
#include <unordered_map>

#include "backends/onednn/onednn_backend.h"
#include "runtime/ops/conv_geometry.h"
#include "runtime/ops/onednn_op.h"

namespace octet {
namespace runtime {

namespace {

using dnnl::memory;

// OHWI weights as oneDNN names them: [O, I, H, W] dims in ohwi order, or [G, O/G, I/G, H, W] in gohwi.
memory::dims WeightDims(const Window2D& g) {
  if (g.groups == 1) return {g.oc, g.c, g.kh, g.kw};
  return {g.groups, g.oc / g.groups, g.c / g.groups, g.kh, g.kw};
}

// The layout of the plan's weights (OHWI, or OIHW with weightLayout 'OIHW'), grouped as WeightDims is.
memory::format_tag WeightTag(const Window2D& g) {
  if (g.weights_oihw) return g.groups == 1 ? memory::format_tag::oihw : memory::format_tag::goihw;
  return g.groups == 1 ? memory::format_tag::ohwi : memory::format_tag::gohwi;
}

dnnl::convolution_forward::desc ConvDesc(const Window2D& g, const memory::desc& src, const memory::desc& wei,
                                         const memory::desc* bias, const memory::desc& dst) {
  const memory::dims strides{g.sh, g.sw}, dilates{g.dh - 1, g.dw - 1}, pad_l{g.pt, g.pl}, pad_r{g.pb, g.pr};
  const auto kind = dnnl::prop_kind::forward_inference;
  const auto algo = dnnl::algorithm::convolution_direct;
  return bias ? dnnl::convolution_forward::desc(kind, algo, src, wei, *bias, dst, strides, dilates, pad_l, pad_r)
              : dnnl::convolution_forward::desc(kind, algo, src, wei, dst, strides, dilates, pad_l, pad_r);
}

class OnednnConvolution final : public OnednnOp {
 public:
  OnednnConvolution(OpContext& ctx, const Window2D& g) : OnednnOp("running the oneDNN int8 convolution") {
    const ValueDesc& x = ctx.input(0);
    const ValueDesc& w = ctx.input(1);
    const ValueDesc& y = ctx.output(0);
    auto& engine = onednn::Engine();
    const auto act = x.dtype == ElemType::kInt8 ? memory::data_type::s8 : memory::data_type::u8;
    memory::desc src_md({g.n, g.c, g.h, g.w}, act, memory::format_tag::nhwc);
    memory::desc dst_md({g.n, g.oc, g.oh, g.ow}, act, memory::format_tag::nhwc);
    const memory::dims wdims = WeightDims(g);
    const memory::format_tag wtag = WeightTag(g);
    memory::desc wei_any(wdims, memory::data_type::s8, memory::format_tag::any);
    memory::desc bias_md({g.oc}, memory::data_type::s32, memory::format_tag::a);

    dnnl::primitive_attr attr;
    std::vector<float> scales(w.quant.scale.size());
    for (size_t i = 0; i < scales.size(); ++i) scales[i] = x.quant.scale[0] * w.quant.scale[i] / y.quant.scale[0];
    attr.set_output_scales(scales.size() > 1 ? (1 << 1) : 0, scales);
    src_zp_ = x.quant.zero_point[0];
    dst_zp_ = y.quant.zero_point[0];
    if (src_zp_ != 0) attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
    if (dst_zp_ != 0) attr.set_zero_points(DNNL_ARG_DST, 0, {DNNL_RUNTIME_S32_VAL});
    int32_t lo, hi;
    ctx.QuantizedActivation(y, &lo, &hi);
    dnnl::post_ops ops;
    if (lo > QMin(y.dtype) || hi < QMax(y.dtype)) {
      ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, static_cast<float>(lo - dst_zp_),
                         static_cast<float>(hi - dst_zp_));
    }
    onednn::RoundBeforeZeroPoint(ops, dst_zp_);
    if (ops.len() > 0) attr.set_post_ops(ops);
    // A user scratchpad owned by the op: the library-managed one is per thread and the run happens on a libuv
    // worker thread, not on the thread that created the primitive.
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    const bool has_bias = ctx.has_input(2);
    onednn::Guard("creating the oneDNN int8 convolution", [&] {
      dnnl::convolution_forward::primitive_desc pd(ConvDesc(g, src_md, wei_any, has_bias ? &bias_md : nullptr, dst_md),
                                                   attr, engine);
      Bind(pd, dnnl::convolution_forward(pd), std::string("onednn:") + pd.impl_info_str(),
           memory::desc(wdims, memory::data_type::s8, wtag), g.weights, ctx.in_ptr(0), ctx.out_ptr(0),
           has_bias ? &bias_md : nullptr, has_bias ? ctx.in_ptr(2) : nullptr);
      memory::desc zp_md({1}, memory::data_type::s32, memory::format_tag::x);
      if (src_zp_ != 0) args_.emplace(DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC, memory(zp_md, engine, &src_zp_));
      if (dst_zp_ != 0) args_.emplace(DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_DST, memory(zp_md, engine, &dst_zp_));
      return 0;
    });
  }

 private:
  int32_t src_zp_ = 0;
  int32_t dst_zp_ = 0;
};

class OnednnFloatConvolution final : public OnednnOp {
 public:
  OnednnFloatConvolution(OpContext& ctx, const Window2D& g, float amin, float amax, const FloatEpilogue& epi)
      : OnednnOp("running the oneDNN float32 convolution") {
    auto& engine = onednn::Engine();
    const auto f32 = memory::data_type::f32;
    memory::desc src_md({g.n, g.c, g.h, g.w}, f32, memory::format_tag::nhwc);
    memory::desc dst_md({g.n, g.oc, g.oh, g.ow}, f32, memory::format_tag::nhwc);
    const memory::dims wdims = WeightDims(g);
    const memory::format_tag wtag = WeightTag(g);
    memory::desc wei_any(wdims, f32, memory::format_tag::any);
    memory::desc bias_md({g.oc}, f32, memory::format_tag::a);
    dnnl::primitive_attr attr;
    const float inf = std::numeric_limits<float>::infinity();
    dnnl::post_ops ops;
    if (amin == 0 && amax == inf) {
      ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    } else if (amin > -inf || amax < inf) {
      ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, amin, amax);
    }
    // oneDNN's hardswish is x * min(max(x + 3, 0), 6) / 6 (alpha, beta unused in 2.x); linear is alpha * x + beta.
    if (epi.hard_swish) ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_hardswish, 0.0f, 0.0f);
    if (epi.scale != 1.0f || epi.bias != 0.0f)
      ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_linear, epi.scale, epi.bias);
    if (ops.len() > 0) attr.set_post_ops(ops);
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);  // see OnednnConvolution
    const bool has_bias = ctx.has_input(2);
    onednn::Guard("creating the oneDNN float32 convolution", [&] {
      dnnl::convolution_forward::primitive_desc pd(ConvDesc(g, src_md, wei_any, has_bias ? &bias_md : nullptr, dst_md),
                                                   attr, engine);
      Bind(pd, dnnl::convolution_forward(pd), std::string("onednn:conv_f32:") + pd.impl_info_str(),
           memory::desc(wdims, f32, wtag), g.weights, ctx.in_ptr(0), ctx.out_ptr(0), has_bias ? &bias_md : nullptr,
           has_bias ? ctx.in_ptr(2) : nullptr);
      return 0;
    });
  }
};

}  // namespace

std::unique_ptr<Op> CreateOnednnFloatConvolution(OpContext& ctx, const Window2D& g, float amin, float amax,
                                                 const FloatEpilogue& epi) {
  GetBackend("onednn");
  auto op = std::make_unique<OnednnFloatConvolution>(ctx, g, amin, amax, epi);
  ctx.Packed(1);  // reordered into the primitive's layout (the bias is read in place)
  return op;
}

std::unique_ptr<Op> CreateOnednnConvolution(OpContext& ctx, const Window2D& g) {
  GetBackend("onednn");  // throws ERR_OCTET_BACKEND_UNAVAILABLE when oneDNN cannot run here
  auto op = std::make_unique<OnednnConvolution>(ctx, g);
  ctx.Packed(1);  // reordered into the primitive's layout (the bias is read in place)
  return op;
}

}  // namespace runtime
}  // namespace octet

#endif  // OCTET_WITH_ONEDNN
