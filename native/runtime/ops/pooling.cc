// Pooling on NHWC data.
//   MaxPool (kernelShape, strides, pads, dilations): XNNPACK max_pooling2d f32 / s8 / u8 (8-bit input and output
//     share quant parameters). ceil_mode is the lowering's job: it adds the extra bottom/right padding.
//   AveragePool (kernelShape, strides, pads, countIncludePad): float32 on XNNPACK (padding excluded from the
//     divisor, ONNX's default); countIncludePad = 1 with pads, and int8/uint8, on an own kernel.
//   GlobalAveragePool: [N, H, W, C] -> [N, 1, 1, C]; XNNPACK global_average_pooling_nwc f32 / qs8 / qu8.
// All take activationMin / activationMax (float32 only for MaxPool/AveragePool).
#include <cmath>

#include "runtime/ops/conv_geometry.h"
#include "runtime/ops/xnn_op.h"

namespace octet {
namespace runtime {

namespace {

void ReadKernel(OpContext& ctx, Window2D* g) {
  std::vector<int64_t> k = ctx.Ints("kernelShape");
  ctx.Expect(k.size() == 2, "expected kernelShape = [kh, kw]");
  g->kh = k[0];
  g->kw = k[1];
}

std::unique_ptr<Op> CreateMaxPool(OpContext& ctx) {
  ctx.ExpectArity(1, 1, 1);
  Window2D g;
  ReadKernel(ctx, &g);
  ReadWindowAttrs(ctx, &g);
  const ValueDesc& x = ctx.input(0);
  const ValueDesc& y = ctx.output(0);
  ctx.Expect(x.shape.size() == 4, "expected 4-D NHWC input");
  CheckForwardWindow(ctx, &g, x.shape[3]);
  ctx.Expect(ctx.backend().empty() || ctx.backend() == "xnnpack", "MaxPool runs on 'xnnpack'");
  ctx.Expect(g.n * g.oh * g.ow * g.c > 0, "empty tensors are not supported");
  EnsureXnnpack();
  std::unique_ptr<XnnOp> op;
  if (x.dtype == ElemType::kFloat32) {
    ctx.ExpectDType(y, x.dtype, "output");
    const float lo = ctx.ActivationMin(), hi = ctx.ActivationMax();
    op = MakeXnnOp("max_pooling2d_nhwc_f32", ctx.pool(), [&](xnn_operator_t* o) {
      return xnn_create_max_pooling2d_nhwc_f32(g.pt, g.pr, g.pb, g.pl, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.c, g.c,
                                               g.c, lo, hi, 0, o);
    });
    xnnpack::Check(
        xnn_setup_max_pooling2d_nhwc_f32(op->get(), g.n, g.h, g.w, ctx.in<float>(0), ctx.out<float>(0), ctx.pool()),
        "xnn_setup_max_pooling2d_nhwc_f32");
  } else if (x.dtype == ElemType::kInt8) {
    ctx.ExpectSameQuant(x, y);
    op = MakeXnnOp("max_pooling2d_nhwc_s8", ctx.pool(), [&](xnn_operator_t* o) {
      return xnn_create_max_pooling2d_nhwc_s8(g.pt, g.pr, g.pb, g.pl, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.c, g.c, g.c,
                                              -128, 127, 0, o);
    });
    xnnpack::Check(
        xnn_setup_max_pooling2d_nhwc_s8(op->get(), g.n, g.h, g.w, ctx.in<int8_t>(0), ctx.out<int8_t>(0), ctx.pool()),
        "xnn_setup_max_pooling2d_nhwc_s8");
  } else if (x.dtype == ElemType::kUint8) {
    ctx.ExpectSameQuant(x, y);
    op = MakeXnnOp("max_pooling2d_nhwc_u8", ctx.pool(), [&](xnn_operator_t* o) {
      return xnn_create_max_pooling2d_nhwc_u8(g.pt, g.pr, g.pb, g.pl, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.c, g.c, g.c,
                                              0, 255, 0, o);
    });
    xnnpack::Check(
        xnn_setup_max_pooling2d_nhwc_u8(op->get(), g.n, g.h, g.w, ctx.in<uint8_t>(0), ctx.out<uint8_t>(0), ctx.pool()),
        "xnn_setup_max_pooling2d_nhwc_u8");
  } else {
    throw ctx.Fail(std::string("unsupported dtype ") + ElemTypeName(x.dtype));
  }
  return op;
}

template <typename T>
std::unique_ptr<Op> OwnAveragePool(OpContext& ctx, const Window2D& g, bool include_pad) {
  const ValueDesc& x = ctx.input(0);
  const ValueDesc& y = ctx.output(0);
  const bool q = IsQuantized8(x.dtype);
  const double sx = q ? x.quant.scale[0] : 1, sy = q ? y.quant.scale[0] : 1;
  const int32_t zx = q ? x.quant.zero_point[0] : 0, zy = q ? y.quant.zero_point[0] : 0;
  int32_t lo = 0, hi = 0;
  float flo = 0, fhi = 0;
  if (q) {
    ctx.QuantizedActivation(y, &lo, &hi);
  } else {
    flo = ctx.ActivationMin();
    fhi = ctx.ActivationMax();
  }
  const T* in = ctx.in<T>(0);
  T* out = ctx.out<T>(0);
  return MakeOp("own:average_pooling2d_nhwc", [=] {
    std::vector<double> acc(g.c);
    for (int64_t b = 0; b < g.n; ++b)
      for (int64_t oy = 0; oy < g.oh; ++oy)
        for (int64_t ox = 0; ox < g.ow; ++ox) {
          std::fill(acc.begin(), acc.end(), 0.0);
          int64_t count = 0;
          for (int64_t ky = 0; ky < g.kh; ++ky)
            for (int64_t kx = 0; kx < g.kw; ++kx) {
              const int64_t iy = oy * g.sh - g.pt + ky, ix = ox * g.sw - g.pl + kx;
              if (iy < -g.pt || iy >= g.h + g.pb || ix < -g.pl || ix >= g.w + g.pr) continue;
              const bool inside = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w;
              if (!inside) {
                if (include_pad) ++count;
                continue;
              }
              ++count;
              const T* p = in + ((b * g.h + iy) * g.w + ix) * g.c;
              for (int64_t c = 0; c < g.c; ++c) acc[c] += q ? (double(p[c]) - zx) * sx : double(p[c]);
            }
          T* o = out + ((b * g.oh + oy) * g.ow + ox) * g.c;
          for (int64_t c = 0; c < g.c; ++c) {
            const double v = count ? acc[c] / count : 0.0;
            if (q) {
              o[c] = static_cast<T>(QuantizeValue(v, sy, zy, lo, hi));
            } else {
              o[c] = static_cast<T>(std::min(std::max(static_cast<float>(v), flo), fhi));
            }
          }
        }
  });
}

std::unique_ptr<Op> CreateAveragePool(OpContext& ctx) {
  ctx.ExpectArity(1, 1, 1);
  Window2D g;
  ReadKernel(ctx, &g);
  ReadWindowAttrs(ctx, &g, /*dilations=*/false);
  const bool include_pad = ctx.Int("countIncludePad", 0) != 0;
  const ValueDesc& x = ctx.input(0);
  const ValueDesc& y = ctx.output(0);
  ctx.Expect(x.shape.size() == 4, "expected 4-D NHWC input");
  CheckForwardWindow(ctx, &g, x.shape[3]);
  ctx.ExpectDType(y, x.dtype, "output");
  const bool pads = g.pt || g.pl || g.pb || g.pr;
  if (x.dtype == ElemType::kFloat32) {
    if ((include_pad && pads) || ctx.backend() == "own" || g.n * g.oh * g.ow * g.c == 0) {
      return OwnAveragePool<float>(ctx, g, include_pad);
    }
    EnsureXnnpack();
    const float lo = ctx.ActivationMin(), hi = ctx.ActivationMax();
    auto op = MakeXnnOp("average_pooling2d_nhwc_f32", ctx.pool(), [&](xnn_operator_t* o) {
      return xnn_create_average_pooling2d_nhwc_f32(g.pt, g.pr, g.pb, g.pl, g.kh, g.kw, g.sh, g.sw, g.c, g.c, g.c, lo,
                                                   hi, 0, o);
    });
    xnnpack::Check(
        xnn_setup_average_pooling2d_nhwc_f32(op->get(), g.n, g.h, g.w, ctx.in<float>(0), ctx.out<float>(0), ctx.pool()),
        "xnn_setup_average_pooling2d_nhwc_f32");
    return op;
  }
  ctx.Expect(IsQuantized8(x.dtype), std::string("unsupported dtype ") + ElemTypeName(x.dtype));
  ctx.ExpectPerTensorQuant(x, "input");
  ctx.ExpectPerTensorQuant(y, "output");
  if (x.dtype == ElemType::kInt8) return OwnAveragePool<int8_t>(ctx, g, include_pad);
  return OwnAveragePool<uint8_t>(ctx, g, include_pad);
}

std::unique_ptr<Op> CreateGlobalAveragePool(OpContext& ctx) {
  ctx.ExpectArity(1, 1, 1);
  const ValueDesc& x = ctx.input(0);
  const ValueDesc& y = ctx.output(0);
  ctx.Expect(x.shape.size() == 4, "expected 4-D NHWC input");
  const int64_t n = x.shape[0], hw = x.shape[1] * x.shape[2], c = x.shape[3];
  ctx.ExpectShape(y, {n, 1, 1, c}, "output");
  ctx.ExpectDType(y, x.dtype, "output");
  ctx.Expect(n * hw * c > 0, "empty tensors are not supported");
  EnsureXnnpack();
  std::unique_ptr<XnnOp> op;
  if (x.dtype == ElemType::kFloat32) {
    const float lo = ctx.ActivationMin(), hi = ctx.ActivationMax();
    op = MakeXnnOp("global_average_pooling_nwc_f32", ctx.pool(),
                   [&](xnn_operator_t* o) { return xnn_create_global_average_pooling_nwc_f32(c, c, c, lo, hi, 0, o); });
    xnnpack::Check(
        xnn_setup_global_average_pooling_nwc_f32(op->get(), n, hw, ctx.in<float>(0), ctx.out<float>(0), ctx.pool()),
        "xnn_setup_global_average_pooling_nwc_f32");
    return op;
  }
  ctx.Expect(IsQuantized8(x.dtype), std::string("unsupported dtype ") + ElemTypeName(x.dtype));
  ctx.ExpectPerTensorQuant(x, "input");
  ctx.ExpectPerTensorQuant(y, "output");
  int32_t lo, hi;
  ctx.QuantizedActivation(y, &lo, &hi);
  if (x.dtype == ElemType::kInt8) {
    op = MakeXnnOp("global_average_pooling_nwc_qs8", ctx.pool(), [&](xnn_operator_t* o) {
      return xnn_create_global_average_pooling_nwc_qs8(c, c, c, x.quant.zero_point[0], x.quant.scale[0],
                                                       y.quant.zero_point[0], y.quant.scale[0], lo, hi, 0, o);
    });
    xnnpack::Check(
        xnn_setup_global_average_pooling_nwc_qs8(op->get(), n, hw, ctx.in<int8_t>(0), ctx.out<int8_t>(0), ctx.pool()),
        "xnn_setup_global_average_pooling_nwc_qs8");
  } else {
    op = MakeXnnOp("global_average_pooling_nwc_qu8", ctx.pool(), [&](xnn_operator_t* o) {
      return xnn_create_global_average_pooling_nwc_qu8(c, c, c, x.quant.zero_point[0], x.quant.scale[0],
                                                       y.quant.zero_point[0], y.quant.scale[0], lo, hi, 0, o);
    });
    xnnpack::Check(
        xnn_setup_global_average_pooling_nwc_qu8(op->get(), n, hw, ctx.in<uint8_t>(0), ctx.out<uint8_t>(0), ctx.pool()),
        "xnn_setup_global_average_pooling_nwc_qu8");
  }
  return op;
}

}  // namespace

std::unique_ptr<Op> CreateMaxPoolOp(OpContext& ctx) {
  return CreateMaxPool(ctx);
}
std::unique_ptr<Op> CreateAveragePoolOp(OpContext& ctx) {
  return CreateAveragePool(ctx);
}
std::unique_ptr<Op> CreateGlobalAveragePoolOp(OpContext& ctx) {
  return CreateGlobalAveragePool(ctx);
}

}  // namespace runtime
}  // namespace octet
