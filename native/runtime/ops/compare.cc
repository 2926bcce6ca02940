// Ops with a bool side, numpy broadcasting throughout; own kernels:
//   Equal, Less, Greater, LessOrEqual, GreaterOrEqual: A, B of one dtype -> bool. 8-bit values with quant
//     compare their real values (each side with its own quant), everything else compares stored values.
//   And, Or, Xor: bool, bool -> bool.   Not: bool -> bool.
//   IsNaN: float32 -> bool.   IsInf (detectPositive 1, detectNegative 1): float32 -> bool.
//   Where: cond bool, X, Y (same dtype; 8-bit: same quant as the output, bytes move) -> Y.
#include <cmath>
#include <cstring>

#include "runtime/op.h"
#include "runtime/ops/broadcast.h"

namespace octet {
namespace runtime {

namespace {

enum class CompareKind { kEqual, kLess, kGreater, kLessOrEqual, kGreaterOrEqual, kAnd, kOr, kXor };

const char* const kCompareNames[] = {"Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor"};

template <typename T>
inline bool CompareValues(CompareKind k, T a, T b) {
  switch (k) {
    case CompareKind::kEqual: return a == b;
    case CompareKind::kLess: return a < b;
    case CompareKind::kGreater: return a > b;
    case CompareKind::kLessOrEqual: return a <= b;
    case CompareKind::kGreaterOrEqual: return a >= b;
    case CompareKind::kAnd: return (a != 0) && (b != 0);
    case CompareKind::kOr: return (a != 0) || (b != 0);
    case CompareKind::kXor: return (a != 0) != (b != 0);
  }
  return false;
}

Shape BroadcastOutput(OpContext& ctx, const std::vector<const ValueDesc*>& ins) {
  Shape out = ins[0]->shape;
  for (size_t i = 1; i < ins.size(); ++i) {
    Shape next;
    ctx.Expect(BroadcastShapes(out, ins[i]->shape, &next),
               "shapes " + ShapeString(out) + " and " + ShapeString(ins[i]->shape) + " do not broadcast");
    out = next;
  }
  return out;
}

std::unique_ptr<Op> CreateCompare(OpContext& ctx) {
  ctx.ExpectArity(2, 2, 1);
  const ValueDesc& a = ctx.input(0);
  const ValueDesc& b = ctx.input(1);
  const ValueDesc& y = ctx.output(0);
  CompareKind kind = CompareKind::kEqual;
  for (size_t i = 0; i < sizeof(kCompareNames) / sizeof(kCompareNames[0]); ++i) {
    if (ctx.node().op == kCompareNames[i]) kind = static_cast<CompareKind>(i);
  }
  const bool logical = kind == CompareKind::kAnd || kind == CompareKind::kOr || kind == CompareKind::kXor;
  if (logical) ctx.ExpectDType(a, ElemType::kBool, "A");
  ctx.ExpectDType(b, a.dtype, "B");
  ctx.ExpectDType(y, ElemType::kBool, "output");
  const Shape out = BroadcastOutput(ctx, {&a, &b});
  ctx.ExpectShape(y, out, "output");
  const std::array<std::vector<size_t>, 2> st = {BroadcastStrides(a.shape, out), BroadcastStrides(b.shape, out)};
  uint8_t* Y = ctx.out<uint8_t>(0);
  const void* A = ctx.in_ptr(0);
  const void* B = ctx.in_ptr(1);
  const std::string impl = std::string("own:compare(") + ctx.node().op + ")";
  if (IsQuantized8(a.dtype) && (a.has_quant || b.has_quant)) {
    ctx.ExpectPerTensorQuant(a, "A");
    ctx.ExpectPerTensorQuant(b, "B");
    const bool u8 = a.dtype == ElemType::kUint8;
    const double sa = a.quant.scale[0], sb = b.quant.scale[0];
    const int32_t za = a.quant.zero_point[0], zb = b.quant.zero_point[0];
    return MakeOp(impl, [=] {
      const auto load = [u8](const void* p, size_t i) -> int32_t {
        return u8 ? static_cast<const uint8_t*>(p)[i] : static_cast<const int8_t*>(p)[i];
      };
      ForEachBroadcastN<2>(out, st, [&](size_t i, const std::array<size_t, 2>& o) {
        Y[i] = CompareValues(kind, (load(A, o[0]) - za) * sa, (load(B, o[1]) - zb) * sb);
      });
    });
  }
  return WithElemType(a.dtype, [&](auto tag) -> std::unique_ptr<Op> {
    using T = decltype(tag);
    const T* pa = static_cast<const T*>(A);
    const T* pb = static_cast<const T*>(B);
    return MakeOp(impl, [=] {
      ForEachBroadcastN<2>(
          out, st, [&](size_t i, const std::array<size_t, 2>& o) { Y[i] = CompareValues(kind, pa[o[0]], pb[o[1]]); });
    });
  });
}

// Not, IsNaN, IsInf: one input, bool output of the same shape.
std::unique_ptr<Op> CreatePredicate(OpContext& ctx) {
  ctx.ExpectArity(1, 1, 1);
  const ValueDesc& x = ctx.input(0);
  const ValueDesc& y = ctx.output(0);
  const std::string op = ctx.node().op;
  ctx.ExpectDType(x, op == "Not" ? ElemType::kBool : ElemType::kFloat32, "input");
  ctx.ExpectDType(y, ElemType::kBool, "output");
  ctx.ExpectShape(y, x.shape, "output");
  const size_t n = x.elements();
  uint8_t* Y = ctx.out<uint8_t>(0);
  if (op == "Not") {
    const uint8_t* X = ctx.in<uint8_t>(0);
    return MakeOp("own:not", [=] {
      for (size_t i = 0; i < n; ++i) Y[i] = X[i] == 0;
    });
  }
  const float* X = ctx.in<float>(0);
  if (op == "IsNaN") {
    return MakeOp("own:isnan", [=] {
      for (size_t i = 0; i < n; ++i) Y[i] = std::isnan(X[i]);
    });
  }
  const bool pos = ctx.Int("detectPositive", 1) != 0, neg = ctx.Int("detectNegative", 1) != 0;
  return MakeOp("own:isinf", [=] {
    for (size_t i = 0; i < n; ++i) Y[i] = std::isinf(X[i]) && (X[i] > 0 ? pos : neg);
  });
}

std::unique_ptr<Op> CreateWhere(OpContext& ctx) {
  ctx.ExpectArity(3, 3, 1);
  const ValueDesc& c = ctx.input(0);
  const ValueDesc& x = ctx.input(1);
  const ValueDesc& yv = ctx.input(2);
  const ValueDesc& out = ctx.output(0);
  ctx.ExpectDType(c, ElemType::kBool, "condition");
  ctx.ExpectSameQuant(x, out);
  ctx.ExpectSameQuant(yv, out);
  const Shape shape = BroadcastOutput(ctx, {&c, &x, &yv});
  ctx.ExpectShape(out, shape, "output");
  const std::array<std::vector<size_t>, 3> st = {BroadcastStrides(c.shape, shape), BroadcastStrides(x.shape, shape),
                                                 BroadcastStrides(yv.shape, shape)};
  const size_t elem = ElemSize(out.dtype);
  const uint8_t* C = ctx.in<uint8_t>(0);
  const uint8_t* X = ctx.in<uint8_t>(1);
  const uint8_t* Yin = ctx.in<uint8_t>(2);
  uint8_t* O = ctx.out<uint8_t>(0);
  return MakeOp("own:where", [=] {
    ForEachBroadcastN<3>(shape, st, [&](size_t i, const std::array<size_t, 3>& o) {
      std::memcpy(O + i * elem, C[o[0]] ? X + o[1] * elem : Yin + o[2] * elem, elem);
    });
  });
}

}  // namespace

std::unique_ptr<Op> CreateCompareOp(OpContext& ctx) {
  return CreateCompare(ctx);
}
std::unique_ptr<Op> CreatePredicateOp(OpContext& ctx) {
  return CreatePredicate(ctx);
}
std::unique_ptr<Op> CreateWhereOp(OpContext& ctx) {
  return CreateWhere(ctx);
}

}  // namespace runtime
}  // namespace octet
