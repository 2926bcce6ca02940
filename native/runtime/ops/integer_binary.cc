// Integer elementwise arithmetic with numpy broadcasting (own kernel): Add, Sub, Mul, Div, Max, Min, Pow, Mod on
// int32 / int64 and on int8 / uint8 values that carry no quant (plain integers); Mod on float32 too.
//   Add / Sub / Mul wrap around like the C++ unsigned arithmetic of the type; Div truncates toward zero;
//   Pow is std::pow in double converted back (as onnxruntime does; saturating); Mod (fmod 0) takes the divisor's sign
//   like Python, fmod 1 the dividend's like C. float32 Mod requires fmod 1 (ONNX). An integer division or Mod by zero
//   rejects the run with ERR_OCTET_DIVISION_BY_ZERO. BitShift (direction LEFT|RIGHT) on uint8; shifting by the
//   type's width or more gives 0.
#include <cmath>
#include <limits>
#include <type_traits>

#include "runtime/op.h"
#include "runtime/ops/broadcast.h"

namespace octet {
namespace runtime {

namespace {

enum class IntKind { kAdd, kSub, kMul, kDiv, kMax, kMin, kPow, kMod, kFmod, kShiftLeft, kShiftRight };

IntKind IntKindOf(const std::string& op, bool fmod, bool left) {
  if (op == "BitShift") return left ? IntKind::kShiftLeft : IntKind::kShiftRight;
  if (op == "Add") return IntKind::kAdd;
  if (op == "Sub") return IntKind::kSub;
  if (op == "Mul") return IntKind::kMul;
  if (op == "Div") return IntKind::kDiv;
  if (op == "Max") return IntKind::kMax;
  if (op == "Min") return IntKind::kMin;
  if (op == "Pow") return IntKind::kPow;
  return fmod ? IntKind::kFmod : IntKind::kMod;  // Mod; other names are refused before this is called
}

bool IsIntegerOp(const std::string& op) {
  static const char* const kOps[] = {"Add", "Sub", "Mul", "Div", "Max", "Min", "Pow", "Mod", "BitShift"};
  for (const char* o : kOps) {
    if (op == o) return true;
  }
  return false;
}

template <typename T>
T ApplyInt(IntKind k, T a, T b) {
  using U = std::make_unsigned_t<T>;
  switch (k) {
    case IntKind::kAdd: return static_cast<T>(static_cast<U>(a) + static_cast<U>(b));
    case IntKind::kSub: return static_cast<T>(static_cast<U>(a) - static_cast<U>(b));
    case IntKind::kMul: return static_cast<T>(static_cast<U>(a) * static_cast<U>(b));
    case IntKind::kMax: return std::max(a, b);
    case IntKind::kMin: return std::min(a, b);
    case IntKind::kPow: {
      // Saturate instead of the undefined conversion of an out-of-range double.
      const double p = std::pow(static_cast<double>(a), static_cast<double>(b));
      if (!(p >= static_cast<double>(std::numeric_limits<T>::lowest()))) return std::numeric_limits<T>::lowest();
      if (p >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
      return static_cast<T>(p);
    }
    case IntKind::kShiftLeft:
      return b >= static_cast<T>(sizeof(T) * 8) ? T(0) : static_cast<T>(static_cast<U>(a) << static_cast<U>(b));
    case IntKind::kShiftRight:
      return b >= static_cast<T>(sizeof(T) * 8) ? T(0) : static_cast<T>(static_cast<U>(a) >> static_cast<U>(b));
    case IntKind::kDiv:
    case IntKind::kMod:
    case IntKind::kFmod: {
      if (b == 0) throw Error("ERR_OCTET_DIVISION_BY_ZERO", "integer division by zero");
      if (std::is_signed_v<T> && b == T(-1)) return k == IntKind::kDiv ? ApplyInt(IntKind::kSub, T(0), a) : T(0);
      if (k == IntKind::kDiv) return static_cast<T>(a / b);
      T r = static_cast<T>(a % b);
      if (k == IntKind::kMod && r != 0 && ((r < 0) != (b < 0))) r = static_cast<T>(r + b);
      return r;
    }
  }
  return 0;
}

std::unique_ptr<Op> CreateIntegerBinary(OpContext& ctx) {
  ctx.ExpectArity(2, 2, 1);
  const ValueDesc& a = ctx.input(0);
  const ValueDesc& b = ctx.input(1);
  const ValueDesc& y = ctx.output(0);
  Shape out;
  ctx.Expect(BroadcastShapes(a.shape, b.shape, &out),
             "shapes " + ShapeString(a.shape) + " and " + ShapeString(b.shape) + " do not broadcast");
  ctx.ExpectShape(y, out, "output");
  ctx.ExpectDType(b, a.dtype, "B");
  ctx.ExpectDType(y, a.dtype, "output");
  const std::string& op = ctx.node().op;
  ctx.Expect(IsIntegerOp(op), op + " is not supported on " + ElemTypeName(a.dtype));
  const bool fmod = op == "Mod" && ctx.Int("fmod", 0) != 0;
  ctx.Expect(a.dtype != ElemType::kBool, "arithmetic on bool is not supported");
  ctx.Expect(!a.has_quant && !b.has_quant && !y.has_quant, "8-bit values with quant take the quantized path");
  ctx.Expect(ctx.backend().empty() || ctx.backend() == "own", "integer arithmetic runs on 'own'");
  bool left = true;
  if (op == "BitShift") {
    const std::string dir = ctx.Str("direction", "");
    ctx.Expect(dir == "LEFT" || dir == "RIGHT", "direction must be 'LEFT' or 'RIGHT'");
    ctx.Expect(a.dtype == ElemType::kUint8, "BitShift runs on unsigned integers (uint8)");
    left = dir == "LEFT";
  }
  const IntKind kind = IntKindOf(op, fmod, left);
  const std::array<std::vector<size_t>, 2> st = {BroadcastStrides(a.shape, out), BroadcastStrides(b.shape, out)};
  if (a.dtype == ElemType::kFloat32) {
    ctx.Expect(op == "Mod" && fmod, "float32 Mod requires fmod 1");
    const float* A = ctx.in<float>(0);
    const float* B = ctx.in<float>(1);
    float* Y = ctx.out<float>(0);
    return MakeOp("own:fmod_f32", [=] {
      ForEachBroadcastN<2>(out, st,
                           [&](size_t i, const std::array<size_t, 2>& o) { Y[i] = std::fmod(A[o[0]], B[o[1]]); });
    });
  }
  return WithElemType(a.dtype, [&](auto tag) -> std::unique_ptr<Op> {
    using T = decltype(tag);
    if constexpr (std::is_integral_v<T>) {
      const T* A = ctx.in<T>(0);
      const T* B = ctx.in<T>(1);
      T* Y = ctx.out<T>(0);
      return MakeOp(std::string("own:binary_") + ElemTypeName(a.dtype) + "(" + op + ")", [=] {
        ForEachBroadcastN<2>(
            out, st, [&](size_t i, const std::array<size_t, 2>& o) { Y[i] = ApplyInt(kind, A[o[0]], B[o[1]]); });
      });
    } else {
      throw ctx.Fail("unreachable: float32 handled above");
    }
  });
}

}  // namespace

std::unique_ptr<Op> CreateIntegerBinaryOp(OpContext& ctx) {
  return CreateIntegerBinary(ctx);
}

}  // namespace runtime
}  // namespace octet
