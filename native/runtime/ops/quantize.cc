// Conversions between float32 and quantized values, and the dynamic-quantization path.
//   QuantizeLinear: X float32 -> Y int8/uint8 with Y's quant (per tensor: XNNPACK convert_nc_f32_qs8/qu8;
//     per axis: own kernel). Round half to even, saturate.
//   DequantizeLinear: X int8/uint8/int32 with X's quant -> Y float32 (per-tensor 8-bit: XNNPACK convert_nc_*_f32).
//   DynamicQuantizeLinear: X float32 -> (Y uint8, Y_scale float32 [], Y_zero_point uint8 []) from X's range
//     [min(0, min x), max(0, max x)] (a zero range gives scale 1, zero point 0).
//   MatMulInteger: A int8/uint8 [..., M, K], B int8/uint8 [..., K, N], optional zero points (inputs 2, 3:
//     scalars, or B's per column [N]; constants or activations) -> int32 [..., M, N]; own kernels (a constant 2-D
//     B is packed once, see matmul_integer_packed.cc).
#include <cmath>

#include "runtime/ops/broadcast.h"
#include "runtime/ops/xnn_op.h"

namespace octet {
namespace runtime {

std::unique_ptr<Op> CreatePackedMatMulInteger(OpContext& ctx, size_t rows, size_t k, size_t n, bool a_u8,
                                              const void* a_zp, const std::vector<int32_t>& zb);

namespace {

// Index along `axis` of flat element i, for per-axis quantization.
struct AxisIndex {
  size_t inner = 1, dim = 1;
  AxisIndex(const ValueDesc& v) {
    if (v.quant.axis < 0) return;
    dim = static_cast<size_t>(v.shape[v.quant.axis]);
    for (size_t d = v.quant.axis + 1; d < v.shape.size(); ++d) inner *= static_cast<size_t>(v.shape[d]);
  }
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
std::unique_ptr<Op> CreateMatMulIntegerOp(OpContext& ctx) {
  return CreateMatMulInteger(ctx);
}

}  // namespace runtime
}  // namespace octet
