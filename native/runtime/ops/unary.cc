// Elementwise unary ops: Relu, Clip (min, max), Sigmoid, Tanh, HardSigmoid (alpha, beta), HardSwish,
// LeakyRelu (alpha), Elu (alpha), Sqrt, Exp, Log, Abs, Neg, Erf, Floor, Ceil, Round, Reciprocal, Sign, the trig
// and hyperbolic functions and their inverses, Softplus, Softsign, Selu (alpha, gamma), ThresholdedRelu (alpha),
// Celu (alpha), Shrink (lambd, bias).
// float32: XNNPACK *_nc_f32 where it has the op, an own loop otherwise. int8/uint8 (per-tensor quant on input
// and output): a 256-entry lookup table built at creation from the float64 function, which is exact.
#include <cmath>

#include "kernels/lut8.h"
#include "runtime/ops/xnn_op.h"

namespace octet {
namespace runtime {

namespace {

enum class UnaryKind {
  kRelu,
  kClip,
  kSigmoid,
  kTanh,
  kHardSigmoid,
  kHardSwish,
  kLeakyRelu,
  kElu,
  kSqrt,
  kExp,
  kLog,
  kAbs,
  kNeg,
  kErf,
  kFloor,
  kCeil,
  kRound,
  kReciprocal,
  kSign,
  kSin,
  kCos,
  kTan,
  kAsin,
  kAcos,
  kAtan,
  kSinh,
  kCosh,
  kAsinh,
  kAcosh,
  kAtanh,
  kSoftplus,
  kSoftsign,
  kSelu,
  kThresholdedRelu,
  kCelu,
  kShrink
};

const char* const kUnaryNames[] = {"Relu",        "Clip",
                                   "Sigmoid",     "Tanh",
                                   "HardSigmoid", "HardSwish",
                                   "LeakyRelu",   "Elu",
                                   "Sqrt",        "Exp",
                                   "Log",         "Abs",
                                   "Neg",         "Erf",
                                   "Floor",       "Ceil",
                                   "Round",       "Reciprocal",
                                   "Sign",        "Sin",
                                   "Cos",         "Tan",
                                   "Asin",        "Acos",
                                   "Atan",        "Sinh",
                                   "Cosh",        "Asinh",
                                   "Acosh",       "Atanh",
                                   "Softplus",    "Softsign",
                                   "Selu",        "ThresholdedRelu",
                                   "Celu",        "Shrink"};
static_assert(sizeof(kUnaryNames) / sizeof(kUnaryNames[0]) == static_cast<size_t>(UnaryKind::kShrink) + 1,
              "one name per UnaryKind");

struct UnaryFn {
  std::string op;
  UnaryKind kind = UnaryKind::kRelu;
  double a = 0, b = 0;  // op parameters (Clip min/max, alpha/beta)
  explicit UnaryFn(const std::string& name) : op(name) {
    for (size_t i = 0; i < sizeof(kUnaryNames) / sizeof(kUnaryNames[0]); ++i) {
      if (name == kUnaryNames[i]) kind = static_cast<UnaryKind>(i);
    }
  }
  double operator()(double x) const {
    switch (kind) {
      case UnaryKind::kRelu: return x > 0 ? x : 0;
      case UnaryKind::kClip: return std::min(std::max(x, a), b);
      case UnaryKind::kSigmoid: return 1 / (1 + std::exp(-x));
      case UnaryKind::kTanh: return std::tanh(x);
      case UnaryKind::kHardSigmoid: return std::max(0.0, std::min(1.0, a * x + b));
      case UnaryKind::kHardSwish: return x * std::max(0.0, std::min(1.0, x / 6 + 0.5));
      case UnaryKind::kLeakyRelu: return x >= 0 ? x : a * x;
      case UnaryKind::kElu: return x >= 0 ? x : a * (std::exp(x) - 1);
      case UnaryKind::kSqrt: return std::sqrt(x);
      case UnaryKind::kExp: return std::exp(x);
      case UnaryKind::kLog: return std::log(x);
      case UnaryKind::kAbs: return std::fabs(x);
      case UnaryKind::kNeg: return -x;
      case UnaryKind::kErf: return std::erf(x);
      case UnaryKind::kFloor: return std::floor(x);
      case UnaryKind::kCeil: return std::ceil(x);
      case UnaryKind::kRound: return std::nearbyint(x);
      case UnaryKind::kReciprocal: return 1 / x;
      case UnaryKind::kSign: return x > 0 ? 1 : x < 0 ? -1 : x;  // 0 and NaN map to themselves
      case UnaryKind::kSin: return std::sin(x);
      case UnaryKind::kCos: return std::cos(x);
      case UnaryKind::kTan: return std::tan(x);
      case UnaryKind::kAsin: return std::asin(x);
      case UnaryKind::kAcos: return std::acos(x);
      case UnaryKind::kAtan: return std::atan(x);
      case UnaryKind::kSinh: return std::sinh(x);
      case UnaryKind::kCosh: return std::cosh(x);
      case UnaryKind::kAsinh: return std::asinh(x);
      case UnaryKind::kAcosh: return std::acosh(x);
      case UnaryKind::kAtanh: return std::atanh(x);
      case UnaryKind::kSoftplus: return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
      case UnaryKind::kSoftsign: return x / (1 + std::fabs(x));
      case UnaryKind::kSelu: return b * (x > 0 ? x : a * (std::exp(x) - 1));
      case UnaryKind::kThresholdedRelu: return x > a ? x : 0;
      case UnaryKind::kShrink: return x < -a ? x + b : x > a ? x - b : 0;
      case UnaryKind::kCelu: return std::max(0.0, x) + std::min(0.0, a * (std::exp(x / a) - 1));
    }
    return x;
  }
};

using CreateNc = xnn_status (*)(size_t, size_t, size_t, uint32_t, xnn_operator_t*);
using SetupNc = xnn_status (*)(xnn_operator_t, size_t, const float*, float*, pthreadpool_t);

std::unique_ptr<Op> CreateUnary(OpContext& ctx) {
  ctx.ExpectArity(1, 1, 1);
  const ValueDesc& x = ctx.input(0);
  const ValueDesc& y = ctx.output(0);
  ctx.ExpectShape(y, x.shape, "output");
  ctx.ExpectDType(y, x.dtype, "output");
  UnaryFn fn(ctx.node().op);
  if (fn.op == "Clip") {
    fn.a = ctx.Float("min", -INFINITY);
    fn.b = ctx.Float("max", INFINITY);
    ctx.Expect(fn.a <= fn.b, "expected min <= max");
  } else if (fn.op == "HardSigmoid") {
    fn.a = ctx.Float("alpha", 0.2);
    fn.b = ctx.Float("beta", 0.5);
  } else if (fn.op == "LeakyRelu") {
    fn.a = ctx.Float("alpha", 0.01);
  } else if (fn.op == "Elu" || fn.op == "ThresholdedRelu") {
    fn.a = ctx.Float("alpha", 1.0);
  } else if (fn.op == "Selu") {
    fn.a = ctx.Float("alpha", 1.67326319217681884765625);
    fn.b = ctx.Float("gamma", 1.05070102214813232421875);
  } else if (fn.op == "Shrink") {
    fn.a = ctx.Float("lambd", 0.5);
    fn.b = ctx.Float("bias", 0.0);
  } else if (fn.op == "Celu") {
    fn.a = ctx.Float("alpha", 1.0);
    ctx.Expect(fn.a != 0, "alpha must not be 0");
  }
  const bool own = ctx.backend() == "own";
  ctx.Expect(ctx.backend().empty() || own || ctx.backend() == "xnnpack", "unary ops run on 'xnnpack' or 'own'");
  const size_t n = x.elements();

  if (x.dtype == ElemType::kFloat32) {
    const float* in = ctx.in<float>(0);
    float* out = ctx.out<float>(0);
    if (!own && n > 0) {
      EnsureXnnpack();
      std::unique_ptr<XnnOp> op;
      CreateNc create = nullptr;
      SetupNc setup = nullptr;
      const char* name = nullptr;
      if (fn.op == "Relu" || fn.op == "Clip") {
        const float lo = fn.op == "Relu" ? 0.0f : static_cast<float>(fn.a);
        const float hi = fn.op == "Relu" ? INFINITY : static_cast<float>(fn.b);
        op = MakeXnnOp("clamp_nc_f32", ctx.pool(),
                       [&](xnn_operator_t* o) { return xnn_create_clamp_nc_f32(1, 1, 1, lo, hi, 0, o); });
        setup = xnn_setup_clamp_nc_f32;
      } else if (fn.op == "LeakyRelu") {
        op = MakeXnnOp("leaky_relu_nc_f32", ctx.pool(), [&](xnn_operator_t* o) {
          return xnn_create_leaky_relu_nc_f32(1, 1, 1, static_cast<float>(fn.a), 0, o);
        });
        setup = xnn_setup_leaky_relu_nc_f32;
      } else if (fn.op == "Elu") {
        op = MakeXnnOp("elu_nc_f32", ctx.pool(), [&](xnn_operator_t* o) {
          return xnn_create_elu_nc_f32(1, 1, 1, static_cast<float>(fn.a), 0, o);
        });
        setup = xnn_setup_elu_nc_f32;
      } else if (fn.op == "Sigmoid") {
        create = xnn_create_sigmoid_nc_f32, setup = xnn_setup_sigmoid_nc_f32, name = "sigmoid_nc_f32";
      } else if (fn.op == "HardSwish") {
        create = xnn_create_hardswish_nc_f32, setup = xnn_setup_hardswish_nc_f32, name = "hardswish_nc_f32";
      } else if (fn.op == "Sqrt") {
        create = xnn_create_square_root_nc_f32, setup = xnn_setup_square_root_nc_f32, name = "square_root_nc_f32";
      } else if (fn.op == "Abs") {
        create = xnn_create_abs_nc_f32, setup = xnn_setup_abs_nc_f32, name = "abs_nc_f32";
      } else if (fn.op == "Neg") {
        create = xnn_create_negate_nc_f32, setup = xnn_setup_negate_nc_f32, name = "negate_nc_f32";
      } else if (fn.op == "Floor") {
        create = xnn_create_floor_nc_f32, setup = xnn_setup_floor_nc_f32, name = "floor_nc_f32";
      } else if (fn.op == "Ceil") {
        create = xnn_create_ceiling_nc_f32, setup = xnn_setup_ceiling_nc_f32, name = "ceiling_nc_f32";
      } else if (fn.op == "Round") {
        create = xnn_create_bankers_rounding_nc_f32, setup = xnn_setup_bankers_rounding_nc_f32,
        name = "bankers_rounding_nc_f32";
      }
      if (create != nullptr) {
        op = MakeXnnOp(name, ctx.pool(), [&](xnn_operator_t* o) { return create(1, 1, 1, 0, o); });
      }
      if (op) {
        xnnpack::Check(setup(op->get(), n, in, out, ctx.pool()), "xnn_setup_unary_nc_f32");
        return op;
      }
    }
    return MakeOp("own:unary_f32(" + fn.op + ")", [=] {
      for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(fn(in[i]));
    });
  }

  ctx.Expect(IsQuantized8(x.dtype), std::string("unsupported dtype ") + ElemTypeName(x.dtype));
  ctx.ExpectPerTensorQuant(x, "input");
  ctx.ExpectPerTensorQuant(y, "output");
  const bool u8 = x.dtype == ElemType::kUint8;
  std::vector<uint8_t> lut(256);
  for (int v = 0; v < 256; ++v) {
    const int32_t q = u8 ? v : v - 128;
    const double real = (q - x.quant.zero_point[0]) * static_cast<double>(x.quant.scale[0]);
    const int32_t r = QuantizeValue(fn(real), y.quant.scale[0], y.quant.zero_point[0], QMin(y.dtype), QMax(y.dtype));
    lut[u8 ? v : static_cast<uint8_t>(static_cast<int8_t>(q))] = static_cast<uint8_t>(r);
  }
  const uint8_t* in = ctx.in<uint8_t>(0);
  uint8_t* out = ctx.out<uint8_t>(0);
  return MakeOp("own:lut_8bit(" + fn.op + ")", [=] { kernels::Lut8(lut.data(), in, out, n); });
}

}  // namespace

std::unique_ptr<Op> CreateUnaryOp(OpContext& ctx) {
  return CreateUnary(ctx);
}

}  // namespace runtime
}  // namespace octet
