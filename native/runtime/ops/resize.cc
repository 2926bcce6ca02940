// Resize of NHWC data over H and W (ONNX Resize semantics, own kernel).
// Attributes: mode 'nearest' | 'linear' | 'cubic' (cubicCoeffA -0.75, excludeOutside 0); coordinateTransformationMode
// 'half_pixel' (default) | 'asymmetric' | 'align_corners' | 'pytorch_half_pixel' | 'tf_half_pixel_for_nn'; nearestMode
// 'round_prefer_floor' (default) | 'round_prefer_ceil' | 'floor' | 'ceil'; scales [sh, sw] (default: output size /
// input size). float32 and int8/uint8 (nearest moves data; linear and cubic dequantize, interpolate in float64,
// requantize).
#include <cmath>

#include "runtime/op.h"

namespace octet {
namespace runtime {

namespace {

enum class Coord { kHalfPixel, kAsymmetric, kAlignCorners, kPytorchHalfPixel, kTfHalfPixelForNn };
enum class Nearest { kRoundPreferFloor, kRoundPreferCeil, kFloor, kCeil };

// `resized` is the output length ONNX maps with: input length · scale when scales are given (not floored).
double Original(Coord mode, double x, double scale, double resized, int64_t in_len) {
  switch (mode) {
    case Coord::kHalfPixel: return (x + 0.5) / scale - 0.5;
    case Coord::kAsymmetric: return x / scale;
    case Coord::kAlignCorners: return resized == 1 ? 0.0 : x * (in_len - 1) / (resized - 1);
    case Coord::kPytorchHalfPixel: return resized > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
    case Coord::kTfHalfPixelForNn: return (x + 0.5) / scale;
  }
  return x;
}

int64_t NearestIndex(Nearest mode, double x, int64_t len) {
  double r;
  switch (mode) {
    case Nearest::kRoundPreferFloor: r = (x == std::floor(x) + 0.5) ? std::floor(x) : std::round(x); break;
    case Nearest::kRoundPreferCeil: r = std::round(x); break;
    case Nearest::kFloor: r = std::floor(x); break;
    default: r = std::ceil(x); break;
  }
  // Clamp in double first: a tiny scale maps to coordinates far outside int64 (and NaN to 0).
  if (!(r >= 0)) return 0;
  if (r >= static_cast<double>(len - 1)) return len - 1;
  return static_cast<int64_t>(r);
}

enum class Mode { kNearest, kLinear, kCubic };

// The input positions and weights one output position reads along one axis (1 nearest, 2 linear, 4 cubic).
struct Tap {
  int n;
  int64_t i[4];
  double w[4];
};

// Cubic convolution weights (Keys, coefficient a) of the taps at floor(x) - 1 .. floor(x) + 2, t = x - floor(x).
void CubicWeights(double t, double a, double* w) {
  auto near = [a](double d) { return ((a + 2) * d - (a + 3)) * d * d + 1; };       // |d| <= 1
  auto far = [a](double d) { return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a; };  // 1 < |d| < 2
  w[0] = far(t + 1);
  w[1] = near(t);
  w[2] = near(1 - t);
  w[3] = far(2 - t);
}

struct Interp {
  Mode mode;
  Coord coord;
  Nearest nearest;
  double cubic_a;
  bool exclude_outside;
};

std::vector<Tap> Taps(const Interp& m, double scale, double resized, int64_t out_len, int64_t in_len) {
  std::vector<Tap> taps(out_len);
  for (int64_t o = 0; o < out_len; ++o) {
    double x = Original(m.coord, static_cast<double>(o), scale, resized, in_len);
    Tap& t = taps[o];
    if (m.mode == Mode::kNearest) {
      t = {1, {NearestIndex(m.nearest, x, in_len), 0, 0, 0}, {1, 0, 0, 0}};
    } else if (m.mode == Mode::kLinear) {
      x = x >= 0 ? std::min(x, static_cast<double>(in_len - 1)) : 0.0;  // NaN -> 0
      const int64_t i0 = static_cast<int64_t>(std::floor(x));
      t = {2, {i0, std::min(i0 + 1, in_len - 1), 0, 0}, {1 - (x - i0), x - i0, 0, 0}};
    } else {
      if (!(std::fabs(x) < 1e15)) x = 0;  // NaN / far outside: the edge
      const double f = std::floor(x);
      t.n = 4;
      CubicWeights(x - f, m.cubic_a, t.w);
      double sum = 0;
      for (int k = 0; k < 4; ++k) {
        const double pos = f - 1 + k;
        const bool outside = pos < 0 || pos > static_cast<double>(in_len - 1);
        if (outside && m.exclude_outside) t.w[k] = 0;
        sum += t.w[k];
        t.i[k] = pos < 0 ? 0 : outside ? in_len - 1 : static_cast<int64_t>(pos);  // edge values outside
      }
      if (m.exclude_outside && sum != 0)
        for (double& w : t.w) w /= sum;
    }
  }
  return taps;
}

template <typename T>
std::unique_ptr<Op> OwnResize(OpContext& ctx, Mode mode, std::vector<Tap> ty, std::vector<Tap> tx) {
  const ValueDesc& x = ctx.input(0);
  const ValueDesc& y = ctx.output(0);
  const int64_t n = x.shape[0], h = x.shape[1], w = x.shape[2], c = x.shape[3];
  const int64_t oh = y.shape[1], ow = y.shape[2];
  const bool q = IsQuantized8(x.dtype);
  const double sx = q ? x.quant.scale[0] : 1, sy = q ? y.quant.scale[0] : 1;
  const int32_t zx = q ? x.quant.zero_point[0] : 0, zy = q ? y.quant.zero_point[0] : 0;
  const int32_t lo = QMin(y.dtype), hi = QMax(y.dtype);
  const T* in = ctx.in<T>(0);
  T* out = ctx.out<T>(0);
  const char* impl = mode == Mode::kNearest  ? "own:resize_nearest_nhwc"
                     : mode == Mode::kLinear ? "own:resize_linear_nhwc"
                                             : "own:resize_cubic_nhwc";
  return MakeOp(impl, [=] {
    auto at = [&](int64_t b, int64_t yy, int64_t xx, int64_t ch) {
      const T v = in[((b * h + yy) * w + xx) * c + ch];
      return q ? (double(v) - zx) * sx : double(v);
    };
    for (int64_t b = 0; b < n; ++b)
      for (int64_t oy = 0; oy < oh; ++oy)
        for (int64_t ox = 0; ox < ow; ++ox) {
          T* o = out + ((b * oh + oy) * ow + ox) * c;
          const Tap& a = ty[oy];
          const Tap& bx = tx[ox];
          if (mode == Mode::kNearest) {
            const T* p = in + ((b * h + a.i[0]) * w + bx.i[0]) * c;
            for (int64_t ch = 0; ch < c; ++ch) o[ch] = p[ch];
            continue;
          }
          for (int64_t ch = 0; ch < c; ++ch) {
            double v = 0;
            for (int ky = 0; ky < a.n; ++ky) {
              double row = 0;
              for (int kx = 0; kx < bx.n; ++kx) row += at(b, a.i[ky], bx.i[kx], ch) * bx.w[kx];
              v += row * a.w[ky];
            }
            o[ch] = q ? static_cast<T>(QuantizeValue(v, sy, zy, lo, hi)) : static_cast<T>(v);
          }
        }
  });
}

std::unique_ptr<Op> CreateResize(OpContext& ctx) {
  ctx.ExpectArity(1, 1, 1);
  const ValueDesc& x = ctx.input(0);
  const ValueDesc& y = ctx.output(0);
  ctx.Expect(x.shape.size() == 4 && y.shape.size() == 4, "expected 4-D NHWC input and output");
  ctx.Expect(y.shape[0] == x.shape[0] && y.shape[3] == x.shape[3], "Resize scales H and W only (NHWC)");
  ctx.ExpectDType(y, x.dtype, "output");
  const std::string mode = ctx.Str("mode", "nearest");
  ctx.Expect(mode == "nearest" || mode == "linear" || mode == "cubic", "mode must be 'nearest', 'linear' or 'cubic'");
  const std::string ct = ctx.Str("coordinateTransformationMode", "half_pixel");
  Coord coord;
  if (ct == "half_pixel")
    coord = Coord::kHalfPixel;
  else if (ct == "asymmetric")
    coord = Coord::kAsymmetric;
  else if (ct == "align_corners")
    coord = Coord::kAlignCorners;
  else if (ct == "pytorch_half_pixel")
    coord = Coord::kPytorchHalfPixel;
  else if (ct == "tf_half_pixel_for_nn")
    coord = Coord::kTfHalfPixelForNn;
  else
    throw ctx.Fail("unsupported coordinateTransformationMode '" + ct + "'");
  const std::string nm = ctx.Str("nearestMode", "round_prefer_floor");
  Nearest nearest;
  if (nm == "round_prefer_floor")
    nearest = Nearest::kRoundPreferFloor;
  else if (nm == "round_prefer_ceil")
    nearest = Nearest::kRoundPreferCeil;
  else if (nm == "floor")
    nearest = Nearest::kFloor;
  else if (nm == "ceil")
    nearest = Nearest::kCeil;
  else
    throw ctx.Fail("unsupported nearestMode '" + nm + "'");
  ctx.Expect(x.shape[1] > 0 && x.shape[2] > 0, "empty input");
  std::vector<double> scales =
      ctx.Floats("scales", {double(y.shape[1]) / double(x.shape[1]), double(y.shape[2]) / double(x.shape[2])});
  ctx.Expect(scales.size() == 2 && scales[0] > 0 && scales[1] > 0, "scales must be [sh, sw], positive");
  const bool linear = mode != "nearest";  // linear and cubic interpolate (and requantize 8-bit data)
  const Interp m{mode == "nearest"  ? Mode::kNearest
                 : mode == "linear" ? Mode::kLinear
                                    : Mode::kCubic,
                 coord, nearest, ctx.Float("cubicCoeffA", -0.75), ctx.Int("excludeOutside", 0) != 0};
  const bool given = ctx.Has("scales");
  auto ty = Taps(m, scales[0], given ? x.shape[1] * scales[0] : double(y.shape[1]), y.shape[1], x.shape[1]);
  auto tx = Taps(m, scales[1], given ? x.shape[2] * scales[1] : double(y.shape[2]), y.shape[2], x.shape[2]);
  switch (x.dtype) {
    case ElemType::kFloat32: return OwnResize<float>(ctx, m.mode, ty, tx);
    case ElemType::kInt8:
    case ElemType::kUint8:
      if (linear) {
        ctx.ExpectPerTensorQuant(x, "input");
        ctx.ExpectPerTensorQuant(y, "output");
      } else {
        ctx.ExpectSameQuant(x, y);
      }
      return x.dtype == ElemType::kInt8 ? OwnResize<int8_t>(ctx, m.mode, ty, tx)
                                        : OwnResize<uint8_t>(ctx, m.mode, ty, tx);
    default: throw ctx.Fail(std::string("unsupported dtype ") + ElemTypeName(x.dtype));
  }
}

}  // namespace

std::unique_ptr<Op> CreateResizeOp(OpContext& ctx) {
  return CreateResize(ctx);
}

}  // namespace runtime
}  // namespace octet
