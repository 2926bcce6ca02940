// Conversions between float32 and quantized values, and the dynamic-quantization path.
//   QuantizeLinear: X float32 -> Y int8/uint8 with Y's quant (per tensor: XNNPACK convert_nc_f32_qs8/qu8;
//     per axis: own kernel). Round half to even, saturate.
//   DequantizeLinear: X int8/uint8/int32 with X's quant -> Y float32 (per-tensor 8-bit: XNNPACK convert_nc_*_f32).
//   QuantizeDequantize: X float32 -> Y float32, DequantizeLinear(QuantizeLinear(X)) through codes in [qmin, qmax]
//     that never materialise (16-bit activations: a QuantizeLinear -> DequantizeLinear pair of int16/uint16).
//     Attributes scale, zeroPoint (Q's), dqScale, dqZeroPoint (DQ's; default Q's), qmin, qmax, axis (-1: per
//     tensor). Own kernel, split over the thread pool.
//   DynamicQuantizeLinear: X float32 -> (Y uint8, Y_scale float32 [], Y_zero_point uint8 []) from X's range
//     [min(0, min x), max(0, max x)] (a zero range gives scale 1, zero point 0).
//   MatMulInteger: A int8/uint8 [..., M, K], B int8/uint8 [..., K, N], optional zero points (inputs 2, 3:
//     scalars, or B's per column [N]; constants or activations) -> int32 [..., M, N]; own kernels (a constant 2-D
//     B is packed once, see matmul_integer_packed.cc).
#include <algorithm>
#include <cmath>

#include "runtime/ops/broadcast.h"
#include "runtime/ops/xnn_op.h"

namespace octet {
namespace runtime {

std::unique_ptr<Op> CreatePackedMatMulInteger(OpContext& ctx, size_t rows, size_t k, size_t n, bool a_u8,
                                              const void* a_zp, const std::vector<int32_t>& zb);

namespace {

// Index along `axis` of flat element i, for per-axis quantization (axis < 0: per tensor, always 0).
struct AxisIndex {
  size_t inner = 1, dim = 1;
  AxisIndex() = default;
  AxisIndex(const Shape& shape, int64_t axis) {
    if (axis < 0) return;
    dim = static_cast<size_t>(shape[axis]);
    for (size_t d = axis + 1; d < shape.size(); ++d) inner *= static_cast<size_t>(shape[d]);
  }
  explicit AxisIndex(const ValueDesc& v) : AxisIndex(v.shape, v.quant.axis) {}
  size_t operator()(size_t i) const { return dim == 1 ? 0 : (i / inner) % dim; }
};

std::unique_ptr<Op> CreateQuantizeLinear(OpContext& ctx) {
  ctx.ExpectArity(1, 1, 1);
  const ValueDesc& x = ctx.input(0);
  const ValueDesc& y = ctx.output(0);
  ctx.ExpectDType(x, ElemType::kFloat32, "input");
  ctx.Expect(IsQuantized8(y.dtype), "output '" + y.name + "' must be int8 or uint8");
  ctx.Expect(y.has_quant, "output '" + y.name + "' needs quant parameters");
  ctx.ExpectShape(y, x.shape, "output");
  const size_t n = x.elements();
  const bool u8 = y.dtype == ElemType::kUint8;
  if (y.quant.per_tensor() && ctx.backend() != "own" && n > 0) {
    EnsureXnnpack();
    const float s = y.quant.scale[0];
    const int32_t z = y.quant.zero_point[0];
    std::unique_ptr<XnnOp> op;
    if (u8) {
      op = MakeXnnOp("convert_nc_f32_qu8", ctx.pool(), [&](xnn_operator_t* o) {
        return xnn_create_convert_nc_f32_qu8(1, 1, 1, s, static_cast<uint8_t>(z), 0, 255, 0, o);
      });
      xnnpack::Check(xnn_setup_convert_nc_f32_qu8(op->get(), n, ctx.in<float>(0), ctx.out<uint8_t>(0), ctx.pool()),
                     "xnn_setup_convert_nc_f32_qu8");
    } else {
      op = MakeXnnOp("convert_nc_f32_qs8", ctx.pool(), [&](xnn_operator_t* o) {
        return xnn_create_convert_nc_f32_qs8(1, 1, 1, s, static_cast<int8_t>(z), -128, 127, 0, o);
      });
      xnnpack::Check(xnn_setup_convert_nc_f32_qs8(op->get(), n, ctx.in<float>(0), ctx.out<int8_t>(0), ctx.pool()),
                     "xnn_setup_convert_nc_f32_qs8");
    }
    return op;
  }
  const float* in = ctx.in<float>(0);
  void* out = ctx.out_ptr(0);
  const AxisIndex axis(y);
  const std::vector<float> scale = y.quant.scale;
  const std::vector<int32_t> zp = y.quant.zero_point;
  const int32_t lo = QMin(y.dtype), hi = QMax(y.dtype);
  return MakeOp("own:quantize_linear", [=] {
    for (size_t i = 0; i < n; ++i) {
      const size_t c = axis(i);
      const int32_t q = QuantizeValue(in[i], scale[c], zp[c], lo, hi);
      if (u8) {
        static_cast<uint8_t*>(out)[i] = static_cast<uint8_t>(q);
      } else {
        static_cast<int8_t*>(out)[i] = static_cast<int8_t>(q);
      }
    }
  });
}

std::unique_ptr<Op> CreateDequantizeLinear(OpContext& ctx) {
  ctx.ExpectArity(1, 1, 1);
  const ValueDesc& x = ctx.input(0);
  const ValueDesc& y = ctx.output(0);
  ctx.Expect(IsQuantized8(x.dtype) || x.dtype == ElemType::kInt32,
             "input '" + x.name + "' must be int8, uint8 or int32");
  ctx.Expect(x.has_quant, "input '" + x.name + "' needs quant parameters");
  ctx.ExpectDType(y, ElemType::kFloat32, "output");
  ctx.ExpectShape(y, x.shape, "output");
  const size_t n = x.elements();
  if (IsQuantized8(x.dtype) && x.quant.per_tensor() && ctx.backend() != "own" && n > 0) {
    EnsureXnnpack();
    const float s = x.quant.scale[0];
    const int32_t z = x.quant.zero_point[0];
    std::unique_ptr<XnnOp> op;
    if (x.dtype == ElemType::kUint8) {
      op = MakeXnnOp("convert_nc_qu8_f32", ctx.pool(), [&](xnn_operator_t* o) {
        return xnn_create_convert_nc_qu8_f32(1, 1, 1, s, static_cast<uint8_t>(z), 0, o);
      });
      xnnpack::Check(xnn_setup_convert_nc_qu8_f32(op->get(), n, ctx.in<uint8_t>(0), ctx.out<float>(0), ctx.pool()),
                     "xnn_setup_convert_nc_qu8_f32");
    } else {
      op = MakeXnnOp("convert_nc_qs8_f32", ctx.pool(), [&](xnn_operator_t* o) {
        return xnn_create_convert_nc_qs8_f32(1, 1, 1, s, static_cast<int8_t>(z), 0, o);
      });
      xnnpack::Check(xnn_setup_convert_nc_qs8_f32(op->get(), n, ctx.in<int8_t>(0), ctx.out<float>(0), ctx.pool()),
                     "xnn_setup_convert_nc_qs8_f32");
    }
    return op;
  }
  const void* in = ctx.in_ptr(0);
  float* out = ctx.out<float>(0);
  const AxisIndex axis(x);
  const std::vector<float> scale = x.quant.scale;
  const std::vector<int32_t> zp = x.quant.zero_point;
  const ElemType t = x.dtype;
  return MakeOp("own:dequantize_linear", [=] {
    for (size_t i = 0; i < n; ++i) {
      const size_t c = axis(i);
      int64_t q;
      if (t == ElemType::kUint8) {
        q = static_cast<const uint8_t*>(in)[i];
      } else if (t == ElemType::kInt8) {
        q = static_cast<const int8_t*>(in)[i];
      } else {
        q = static_cast<const int32_t*>(in)[i];
      }
      out[i] = static_cast<float>(static_cast<double>(q - zp[c]) * scale[c]);
    }
  });
}

// Y = (clamp(round(X / s) + z, qmin, qmax) - z') * s' elementwise, per tensor or per slice along an axis.
class QuantizeDequantizeOp final : public Op {
 public:
  struct Params {
    const float* in = nullptr;
    float* out = nullptr;
    size_t n = 0;
    AxisIndex axis;
    std::vector<float> scale, dq_scale;  // float32, as ONNX stores scales
    std::vector<int32_t> zp, dq_zp;
    int32_t lo = 0, hi = 0;
  };
  QuantizeDequantizeOp(Params p, pthreadpool_t pool) : p_(std::move(p)), pool_(pool) {}

  void Run() override { pthreadpool_parallelize_1d_tile_1d(pool_, RunTile, &p_, p_.n, kTile, 0); }
  std::string implementation() const override { return "own:quantize_dequantize"; }

 private:
  static constexpr size_t kTile = 16384;
  static void RunTile(void* context, size_t start, size_t count) {
    const Params& p = *static_cast<const Params*>(context);
    for (size_t i = start, end = start + count; i < end;) {
      // The run of elements that share one channel's parameters (all of them per tensor).
      const size_t c = p.axis(i);
      const size_t run_end = p.axis.dim == 1 ? end : std::min(end, (i / p.axis.inner + 1) * p.axis.inner);
      Row(p.in + i, p.out + i, run_end - i, p.scale[c], static_cast<float>(p.lo - p.zp[c]),
          static_cast<float>(p.hi - p.zp[c]), static_cast<float>(p.zp[c] - p.dq_zp[c]), p.dq_scale[c]);
      i = run_end;
    }
  }
  // In the zero point's frame: v = x / s clamped to [lo, hi] (integers, so clamping before rounding is the same
  // as after), rounded half to even by adding and subtracting 1.5 * 2^23 (exact for |v| < 2^22; here |v| < 2^17),
  // then (v + z - z') * s'. Every step but the division and the last product is exact in float32; the loop
  // vectorises.
  static void Row(const float* in, float* out, size_t n, float s, float lo, float hi, float offset, float ds) {
    constexpr float kMagic = 12582912.0f;
    for (size_t i = 0; i < n; ++i) {
      float v = in[i] / s;
      v = v > hi ? hi : v;
      v = v >= lo ? v : lo;  // NaN fails the test and becomes lo, as QuantizeLinear's kernels map it
      v = (v + kMagic) - kMagic;
      out[i] = (v + offset) * ds;
    }
  }
  Params p_;
  pthreadpool_t pool_;
};

std::unique_ptr<Op> CreateQuantizeDequantize(OpContext& ctx) {
  ctx.ExpectArity(1, 1, 1);
  const ValueDesc& x = ctx.input(0);
  const ValueDesc& y = ctx.output(0);
  ctx.ExpectDType(x, ElemType::kFloat32, "input");
  ctx.ExpectDType(y, ElemType::kFloat32, "output");
  ctx.ExpectShape(y, x.shape, "output");
  QuantizeDequantizeOp::Params p;
  p.n = x.elements();
  // Codes up to 2^20 in magnitude keep every step of the kernel exact (see Row); 16-bit types need 2^16.
  const int64_t qmin = ctx.Int("qmin"), qmax = ctx.Int("qmax");
  ctx.Expect(qmin < qmax && qmin >= -(int64_t{1} << 20) && qmax <= (int64_t{1} << 20),
             "qmin < qmax must hold, both within [-2^20, 2^20] (got " + std::to_string(qmin) + ", " +
                 std::to_string(qmax) + ")");
  p.lo = static_cast<int32_t>(qmin);
  p.hi = static_cast<int32_t>(qmax);
  const int64_t axis = ctx.Int("axis", -1);
  if (axis != -1) p.axis = AxisIndex(x.shape, ctx.Axis(axis, x.shape.size(), "axis"));
  const std::vector<double> scale = ctx.Floats("scale", {});
  p.scale.assign(scale.begin(), scale.end());
  const std::vector<int64_t> zp = ctx.Ints("zeroPoint", {});
  const std::vector<double> dq_scale = ctx.Floats("dqScale", scale);
  p.dq_scale.assign(dq_scale.begin(), dq_scale.end());
  const std::vector<int64_t> dq_zp = ctx.Ints("dqZeroPoint", zp);
  const size_t channels = axis == -1 ? 1 : p.axis.dim;
  const std::string count = std::to_string(channels) + (axis == -1 ? " (per tensor)" : " (the axis' size)");
  ctx.Expect(p.scale.size() == channels && p.dq_scale.size() == channels,
             "scale and dqScale need " + count + " values");
  ctx.Expect(zp.size() == channels && dq_zp.size() == channels, "zeroPoint and dqZeroPoint need " + count + " values");
  for (size_t c = 0; c < channels; ++c) {
    const double s = p.scale[c], ds = p.dq_scale[c];
    ctx.Expect(s > 0 && std::isfinite(s) && ds > 0 && std::isfinite(ds),
               "scale and dqScale must be positive and finite (index " + std::to_string(c) + ")");
    ctx.Expect(zp[c] >= p.lo && zp[c] <= p.hi && dq_zp[c] >= p.lo && dq_zp[c] <= p.hi,
               "zero points must lie in [qmin, qmax] (index " + std::to_string(c) + ")");
    p.zp.push_back(static_cast<int32_t>(zp[c]));
    p.dq_zp.push_back(static_cast<int32_t>(dq_zp[c]));
  }
  p.in = ctx.in<float>(0);
  p.out = ctx.out<float>(0);
  return std::make_unique<QuantizeDequantizeOp>(std::move(p), ctx.pool());
}

std::unique_ptr<Op> CreateDynamicQuantizeLinear(OpContext& ctx) {
  ctx.ExpectArity(1, 1, 3);
  const ValueDesc& x = ctx.input(0);
  ctx.ExpectDType(x, ElemType::kFloat32, "input");
  ctx.ExpectDType(ctx.output(0), ElemType::kUint8, "output");
  ctx.ExpectShape(ctx.output(0), x.shape, "output");
  ctx.ExpectDType(ctx.output(1), ElemType::kFloat32, "scale output");
  ctx.ExpectShape(ctx.output(1), {}, "scale output");
  ctx.ExpectDType(ctx.output(2), ElemType::kUint8, "zero point output");
  ctx.ExpectShape(ctx.output(2), {}, "zero point output");
  const size_t n = x.elements();
  const float* in = ctx.in<float>(0);
  uint8_t* out = ctx.out<uint8_t>(0);
  float* scale_out = ctx.out<float>(1);
  uint8_t* zp_out = ctx.out<uint8_t>(2);
  return MakeOp("own:dynamic_quantize_linear", [=] {
    float lo = 0, hi = 0;
    for (size_t i = 0; i < n; ++i) {
      lo = std::min(lo, in[i]);
      hi = std::max(hi, in[i]);
    }
    float scale = (hi - lo) / 255.0f;
    if (!(scale > 0) || !std::isfinite(scale)) scale = 1.0f;
    const int32_t zp = static_cast<int32_t>(std::min(255.0, std::max(0.0, RoundHalfEven(0.0 - lo / scale))));
    for (size_t i = 0; i < n; ++i) {
      out[i] = static_cast<uint8_t>(QuantizeValue(in[i] / scale, 1.0, zp, 0, 255));
    }
    *scale_out = scale;
    *zp_out = static_cast<uint8_t>(zp);
  });
}

std::unique_ptr<Op> CreateMatMulInteger(OpContext& ctx) {
  ctx.ExpectArity(2, 4, 1);
  const ValueDesc& a = ctx.input(0);
  const ValueDesc& b = ctx.input(1);
  const ValueDesc& y = ctx.output(0);
  ctx.Expect(IsQuantized8(a.dtype) && IsQuantized8(b.dtype), "A and B must be int8 or uint8");
  ctx.ExpectDType(y, ElemType::kInt32, "output");
  ctx.Expect(a.shape.size() >= 2 && b.shape.size() >= 2, "MatMulInteger inputs must have rank >= 2");
  const size_t ra = a.shape.size(), rb = b.shape.size();
  const int64_t m = a.shape[ra - 2], k = a.shape[ra - 1], n = b.shape[rb - 1];
  ctx.Expect(b.shape[rb - 2] == k, "inner dimensions differ: " + ShapeString(a.shape) + " x " + ShapeString(b.shape));
  Shape ba(a.shape.begin(), a.shape.end() - 2), bb(b.shape.begin(), b.shape.end() - 2), batch;
  ctx.Expect(BroadcastShapes(ba, bb, &batch), "batch dimensions do not broadcast");
  Shape out = batch;
  out.push_back(m);
  out.push_back(n);
  ctx.ExpectShape(y, out, "output");
  const void* azp = nullptr;
  const void* bzp = nullptr;
  bool bzp_per_column = false;
  if (ctx.has_input(2)) {
    ctx.ExpectDType(ctx.input(2), a.dtype, "A zero point");
    ctx.Expect(ctx.input(2).elements() == 1, "A zero point must be a scalar");
    azp = ctx.in_ptr(2);
  }
  if (ctx.has_input(3)) {
    ctx.ExpectDType(ctx.input(3), b.dtype, "B zero point");
    const size_t count = ctx.input(3).elements();
    ctx.Expect(count == 1 || count == static_cast<size_t>(n), "B zero point must be a scalar or have N entries");
    bzp = ctx.in_ptr(3);
    bzp_per_column = count != 1;
  }
  const bool au8 = a.dtype == ElemType::kUint8, bu8 = b.dtype == ElemType::kUint8;
  auto load = [](const void* p, bool u8, size_t i) -> int32_t {
    return u8 ? static_cast<const uint8_t*>(p)[i] : static_cast<const int8_t*>(p)[i];
  };
  if (b.constant && rb == 2 && (bzp == nullptr || ctx.input(3).constant) && k > 0 && k <= 32768 && y.elements() > 0 &&
      ctx.backend() != "own") {
    std::vector<int32_t> zb(n, 0);
    if (bzp) {
      for (int64_t c = 0; c < n; ++c) zb[c] = load(bzp, bu8, bzp_per_column ? c : 0);
    }
    return CreatePackedMatMulInteger(ctx, a.elements() / k, k, n, au8, azp, zb);
  }
  const auto sa = BroadcastStrides(ba, batch), sb = BroadcastStrides(bb, batch);
  const void* A = ctx.in_ptr(0);
  const void* B = ctx.in_ptr(1);
  int32_t* Y = ctx.out<int32_t>(0);
  return MakeOp("own:matmul_integer", [=] {
    const int32_t za = azp ? load(azp, au8, 0) : 0;
    std::vector<int32_t> zb(n, 0);
    if (bzp) {
      for (int64_t c = 0; c < n; ++c) zb[c] = load(bzp, bu8, bzp_per_column ? c : 0);
    }
    std::vector<int32_t> bcol(k * n);
    ForEachBroadcast(batch, sa, sb, [&](size_t i, size_t ia, size_t ib) {
      for (int64_t r = 0; r < k; ++r)
        for (int64_t c = 0; c < n; ++c) bcol[r * n + c] = load(B, bu8, ib * k * n + r * n + c) - zb[c];
      for (int64_t r = 0; r < m; ++r) {
        int32_t* py = Y + i * m * n + r * n;
        std::fill(py, py + n, 0);
        for (int64_t kk = 0; kk < k; ++kk) {
          const int32_t av = load(A, au8, ia * m * k + r * k + kk) - za;
          if (av == 0) continue;
          const int32_t* brow = bcol.data() + kk * n;
          // int32 accumulation wraps like the vendors' (signed overflow would be undefined behaviour).
          for (int64_t c = 0; c < n; ++c) {
            py[c] = static_cast<int32_t>(static_cast<uint32_t>(py[c]) + static_cast<uint32_t>(av * brow[c]));
          }
        }
      }
    });
  });
}

}  // namespace

std::unique_ptr<Op> CreateQuantizeLinearOp(OpContext& ctx) {
  return CreateQuantizeLinear(ctx);
}
std::unique_ptr<Op> CreateDequantizeLinearOp(OpContext& ctx) {
  return CreateDequantizeLinear(ctx);
}
std::unique_ptr<Op> CreateDynamicQuantizeLinearOp(OpContext& ctx) {
  return CreateDynamicQuantizeLinear(ctx);
}
std::unique_ptr<Op> CreateQuantizeDequantizeOp(OpContext& ctx) {
  return CreateQuantizeDequantize(ctx);
}
std::unique_ptr<Op> CreateMatMulIntegerOp(OpContext& ctx) {
  return CreateMatMulInteger(ctx);
}

}  // namespace runtime
}  // namespace octet
