// Elementwise binary ops with numpy broadcasting: Add, Sub, Mul, Div, Max, Min, Pow, PRelu (slope B). float32 runs
// XNNPACK *_nd_f32 (Pow: own kernel). int8/uint8 Add / Sub / Mul run XNNPACK qs8 / qu8 *_nd operators; other int8 ops
// (and backend 'own') dequantize, compute in float, requantize. Attributes: activationMin / activationMax (fused
// clamp).
#include <cmath>

#include "runtime/ops/broadcast.h"
#include "runtime/ops/xnn_op.h"

namespace octet {
namespace runtime {

namespace {

enum class BinaryKind { kAdd, kSub, kMul, kDiv, kMax, kMin, kPow, kPRelu };

BinaryKind KindOf(const std::string& op) {
  if (op == "Add") return BinaryKind::kAdd;
  if (op == "Sub") return BinaryKind::kSub;
  if (op == "Mul") return BinaryKind::kMul;
  if (op == "Div") return BinaryKind::kDiv;
  if (op == "Max") return BinaryKind::kMax;
  if (op == "Min") return BinaryKind::kMin;
  if (op == "PRelu") return BinaryKind::kPRelu;
  return BinaryKind::kPow;
}

inline double Apply(BinaryKind k, double a, double b) {
  switch (k) {
    case BinaryKind::kAdd: return a + b;
    case BinaryKind::kSub: return a - b;
    case BinaryKind::kMul: return a * b;
    case BinaryKind::kDiv: return a / b;
    case BinaryKind::kMax: return std::max(a, b);
    case BinaryKind::kMin: return std::min(a, b);
    case BinaryKind::kPow: return std::pow(a, b);
    case BinaryKind::kPRelu: return a < 0 ? a * b : a;
  }
  return 0;
}

// A constant float32 exponent that is 2 everywhere and does not widen the output (output shape = input's).
bool IsSquare(OpContext& ctx) {
  const ValueDesc& e = ctx.input(1);
  if (!e.constant || e.dtype != ElemType::kFloat32 || ctx.output(0).shape != ctx.input(0).shape) return false;
  const float* p = ctx.in<float>(1);
  for (size_t i = 0; i < e.elements(); ++i) {
    if (p[i] != 2.0f) return false;
  }
  return true;
}

std::vector<size_t> Dims(const Shape& s) {
  std::vector<size_t> d(s.begin(), s.end());
  if (d.empty()) d.push_back(1);
  return d;
}

}  // namespace

std::unique_ptr<Op> CreateIntegerBinaryOp(OpContext& ctx);  // integer_binary.cc

namespace {

using CreateNdF32 = xnn_status (*)(float, float, uint32_t, xnn_operator_t*);
using SetupNdF32 = xnn_status (*)(xnn_operator_t, size_t, const size_t*, size_t, const size_t*, const float*,
                                  const float*, float*, pthreadpool_t);

std::unique_ptr<Op> CreateBinary(OpContext& ctx) {
  ctx.ExpectArity(2, 2, 1);
  const ValueDesc& a = ctx.input(0);
  const ValueDesc& b = ctx.input(1);
  // Plain integers (int32/int64, 8-bit without quant): integer_binary.cc.
  if (a.dtype == ElemType::kInt32 || a.dtype == ElemType::kInt64 ||
      (IsQuantized8(a.dtype) && !a.has_quant && !b.has_quant)) {
    return CreateIntegerBinaryOp(ctx);
  }
  const ValueDesc& y = ctx.output(0);
  Shape out;
  ctx.Expect(BroadcastShapes(a.shape, b.shape, &out),
             "shapes " + ShapeString(a.shape) + " and " + ShapeString(b.shape) + " do not broadcast");
  ctx.ExpectShape(y, out, "output");
  ctx.ExpectDType(b, a.dtype, "B");
  ctx.ExpectDType(y, a.dtype, "output");
  const BinaryKind kind = KindOf(ctx.node().op);
  const bool own = ctx.backend() == "own";
  ctx.Expect(ctx.backend().empty() || own || ctx.backend() == "xnnpack", "elementwise ops run on 'xnnpack' or 'own'");
  ctx.Expect(a.shape.size() <= XNN_MAX_TENSOR_DIMS && b.shape.size() <= XNN_MAX_TENSOR_DIMS,
             "elementwise ops support rank <= " + std::to_string(XNN_MAX_TENSOR_DIMS));
  const auto sa = BroadcastStrides(a.shape, out), sb = BroadcastStrides(b.shape, out);

  if (a.dtype == ElemType::kFloat32) {
    const float amin = ctx.ActivationMin(), amax = ctx.ActivationMax();
    ctx.Expect(amin <= amax, "expected activationMin <= activationMax");
    CreateNdF32 create = nullptr;
    SetupNdF32 setup = nullptr;
    const char* name = "";
    switch (kind) {
      case BinaryKind::kAdd: create = xnn_create_add_nd_f32, setup = xnn_setup_add_nd_f32, name = "add_nd_f32"; break;
      case BinaryKind::kSub:
        create = xnn_create_subtract_nd_f32, setup = xnn_setup_subtract_nd_f32, name = "subtract_nd_f32";
        break;
      case BinaryKind::kMul:
        create = xnn_create_multiply_nd_f32, setup = xnn_setup_multiply_nd_f32, name = "multiply_nd_f32";
        break;
      case BinaryKind::kDiv:
        create = xnn_create_divide_nd_f32, setup = xnn_setup_divide_nd_f32, name = "divide_nd_f32";
        break;
      case BinaryKind::kMax:
        create = [](float, float, uint32_t f, xnn_operator_t* o) { return xnn_create_maximum_nd_f32(f, o); },
        setup = xnn_setup_maximum_nd_f32, name = "maximum_nd_f32";
        break;
      case BinaryKind::kMin:
        create = [](float, float, uint32_t f, xnn_operator_t* o) { return xnn_create_minimum_nd_f32(f, o); },
        setup = xnn_setup_minimum_nd_f32, name = "minimum_nd_f32";
        break;
      case BinaryKind::kPow:
      case BinaryKind::kPRelu: break;
    }
    const bool clamped = std::isfinite(amin) || std::isfinite(amax);
    if ((kind == BinaryKind::kMax || kind == BinaryKind::kMin) && clamped) create = nullptr;  // no fused clamp there
    if (create != nullptr && !own && y.elements() > 0) {
      EnsureXnnpack();
      auto op = MakeXnnOp(name, ctx.pool(), [&](xnn_operator_t* o) { return create(amin, amax, 0, o); });
      const auto da = Dims(a.shape), db = Dims(b.shape);
      xnnpack::Check(setup(op->get(), da.size(), da.data(), db.size(), db.data(), ctx.in<float>(0), ctx.in<float>(1),
                           ctx.out<float>(0), ctx.pool()),
                     (std::string("xnn_setup_") + name).c_str());
      return op;
    }
    if (kind == BinaryKind::kPow && !own && IsSquare(ctx) && y.elements() > 0) {
      // Pow(x, 2) (LayerNorm spelled out) is x * x, bit for bit: a float product rounded once either way.
      EnsureXnnpack();
      auto op = MakeXnnOp("multiply_nd_f32(square)", ctx.pool(),
                          [&](xnn_operator_t* o) { return xnn_create_multiply_nd_f32(amin, amax, 0, o); });
      const auto da = Dims(a.shape);
      xnnpack::Check(xnn_setup_multiply_nd_f32(op->get(), da.size(), da.data(), da.size(), da.data(), ctx.in<float>(0),
                                               ctx.in<float>(0), ctx.out<float>(0), ctx.pool()),
                     "xnn_setup_multiply_nd_f32");
      return op;
    }
    const float* A = ctx.in<float>(0);
    const float* B = ctx.in<float>(1);
    float* Y = ctx.out<float>(0);
    return MakeOp("own:binary_f32", [=] {
      ForEachBroadcast(out, sa, sb, [&](size_t i, size_t ia, size_t ib) {
        const float v = static_cast<float>(Apply(kind, A[ia], B[ib]));
        Y[i] = std::min(std::max(v, amin), amax);
      });
    });
  }

  ctx.Expect(IsQuantized8(a.dtype), std::string("unsupported dtype ") + ElemTypeName(a.dtype));
  ctx.ExpectPerTensorQuant(a, "A");
  ctx.ExpectPerTensorQuant(b, "B");
  ctx.ExpectPerTensorQuant(y, "output");
  int32_t lo, hi;
  ctx.QuantizedActivation(y, &lo, &hi);
  const bool u8 = a.dtype == ElemType::kUint8;
  const float s1 = a.quant.scale[0], s2 = b.quant.scale[0], so = y.quant.scale[0];
  const int32_t z1 = a.quant.zero_point[0], z2 = b.quant.zero_point[0], zo = y.quant.zero_point[0];
  if (!own && y.elements() > 0 && (kind == BinaryKind::kAdd || kind == BinaryKind::kSub || kind == BinaryKind::kMul)) {
    EnsureXnnpack();
    const auto da = Dims(a.shape), db = Dims(b.shape);
    std::unique_ptr<XnnOp> op;
    xnn_status st;
    if (!u8) {
      const auto i8 = [](int32_t v) { return static_cast<int8_t>(v); };
      switch (kind) {
        case BinaryKind::kAdd:
          op = MakeXnnOp("add_nd_qs8", ctx.pool(), [&](xnn_operator_t* o) {
            return xnn_create_add_nd_qs8(i8(z1), s1, i8(z2), s2, i8(zo), so, i8(lo), i8(hi), 0, o);
          });
          st = xnn_setup_add_nd_qs8(op->get(), da.size(), da.data(), db.size(), db.data(), ctx.in<int8_t>(0),
                                    ctx.in<int8_t>(1), ctx.out<int8_t>(0), ctx.pool());
          break;
        case BinaryKind::kSub:
          op = MakeXnnOp("subtract_nd_qs8", ctx.pool(), [&](xnn_operator_t* o) {
            return xnn_create_subtract_nd_qs8(i8(z1), s1, i8(z2), s2, i8(zo), so, i8(lo), i8(hi), 0, o);
          });
          st = xnn_setup_subtract_nd_qs8(op->get(), da.size(), da.data(), db.size(), db.data(), ctx.in<int8_t>(0),
                                         ctx.in<int8_t>(1), ctx.out<int8_t>(0), ctx.pool());
          break;
        default:
          op = MakeXnnOp("multiply_nd_qs8", ctx.pool(), [&](xnn_operator_t* o) {
            return xnn_create_multiply_nd_qs8(i8(z1), s1, i8(z2), s2, i8(zo), so, i8(lo), i8(hi), 0, o);
          });
          st = xnn_setup_multiply_nd_qs8(op->get(), da.size(), da.data(), db.size(), db.data(), ctx.in<int8_t>(0),
                                         ctx.in<int8_t>(1), ctx.out<int8_t>(0), ctx.pool());
          break;
      }
    } else {
      const auto u8c = [](int32_t v) { return static_cast<uint8_t>(v); };
      switch (kind) {
        case BinaryKind::kAdd:
          op = MakeXnnOp("add_nd_qu8", ctx.pool(), [&](xnn_operator_t* o) {
            return xnn_create_add_nd_qu8(u8c(z1), s1, u8c(z2), s2, u8c(zo), so, u8c(lo), u8c(hi), 0, o);
          });
          st = xnn_setup_add_nd_qu8(op->get(), da.size(), da.data(), db.size(), db.data(), ctx.in<uint8_t>(0),
                                    ctx.in<uint8_t>(1), ctx.out<uint8_t>(0), ctx.pool());
          break;
        case BinaryKind::kSub:
          op = MakeXnnOp("subtract_nd_qu8", ctx.pool(), [&](xnn_operator_t* o) {
            return xnn_create_subtract_nd_qu8(u8c(z1), s1, u8c(z2), s2, u8c(zo), so, u8c(lo), u8c(hi), 0, o);
          });
          st = xnn_setup_subtract_nd_qu8(op->get(), da.size(), da.data(), db.size(), db.data(), ctx.in<uint8_t>(0),
                                         ctx.in<uint8_t>(1), ctx.out<uint8_t>(0), ctx.pool());
          break;
        default:
          op = MakeXnnOp("multiply_nd_qu8", ctx.pool(), [&](xnn_operator_t* o) {
            return xnn_create_multiply_nd_qu8(u8c(z1), s1, u8c(z2), s2, u8c(zo), so, u8c(lo), u8c(hi), 0, o);
          });
          st = xnn_setup_multiply_nd_qu8(op->get(), da.size(), da.data(), db.size(), db.data(), ctx.in<uint8_t>(0),
                                         ctx.in<uint8_t>(1), ctx.out<uint8_t>(0), ctx.pool());
          break;
      }
    }
    xnnpack::Check(st, "xnn_setup_binary_nd");
    return op;
  }
  const size_t ea = ElemSize(a.dtype);
  (void)ea;
  const void* A = ctx.in_ptr(0);
  const void* B = ctx.in_ptr(1);
  void* Y = ctx.out_ptr(0);
  return MakeOp(u8 ? "own:binary_qu8" : "own:binary_qs8", [=] {
    ForEachBroadcast(out, sa, sb, [&](size_t i, size_t ia, size_t ib) {
      const double va =
          ((u8 ? static_cast<const uint8_t*>(A)[ia] : static_cast<const int8_t*>(A)[ia]) - z1) * double(s1);
      const double vb =
          ((u8 ? static_cast<const uint8_t*>(B)[ib] : static_cast<const int8_t*>(B)[ib]) - z2) * double(s2);
      const int32_t q = QuantizeValue(Apply(kind, va, vb), so, zo, lo, hi);
      if (u8) {
        static_cast<uint8_t*>(Y)[i] = static_cast<uint8_t>(q);
      } else {
        static_cast<int8_t*>(Y)[i] = static_cast<int8_t>(q);
      }
    });
  });
}

}  // namespace

std::unique_ptr<Op> CreateBinaryOp(OpContext& ctx) {
  return CreateBinary(ctx);
}

}  // namespace runtime
}  // namespace octet
