// Resize of NHWC data over H and W (ONNX Resize semantics, own kernel).
// Attributes: mode 'nearest' | 'linear'; coordinateTransformationMode 'half_pixel' (default) | 'asymmetric' |
// 'align_corners' | 'pytorch_half_pixel' | 'tf_half_pixel_for_nn'; nearestMode 'round_prefer_floor' (default)
// | 'round_prefer_ceil' | 'floor' | 'ceil'; scales [sh, sw] (default: output size / input size).
// float32 and int8/uint8 (nearest moves data; linear dequantizes, interpolates in float64, requantizes).
#include <cmath>

#include "runtime/op.h"

namespace octet {
namespace runtime {

namespace {

enum class Coord { kHalfPixel, kAsymmetric, kAlignCorners, kPytorchHalfPixel, kTfHalfPixelForNn };
enum class Nearest { kRoundPreferFloor, kRoundPreferCeil, kFloor, kCeil };

double Original(Coord mode, double x, double scale, int64_t out_len, int64_t in_len) {
  switch (mode) {
    case Coord::kHalfPixel: return (x + 0.5) / scale - 0.5;
    case Coord::kAsymmetric: return x / scale;
    case Coord::kAlignCorners: return out_len == 1 ? 0.0 : x * (in_len - 1) / double(out_len - 1);
    case Coord::kPytorchHalfPixel: return out_len > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
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

struct Tap {
  int64_t i0, i1;
  double w1;  // weight of i1 (linear); nearest uses i0 only
};

std::vector<Tap> Taps(bool linear, Coord coord, Nearest nearest, double scale, int64_t out_len, int64_t in_len) {
  std::vector<Tap> taps(out_len);
  for (int64_t o = 0; o < out_len; ++o) {
    double x = Original(coord, static_cast<double>(o), scale, out_len, in_len);
    if (!linear) {
      taps[o] = {NearestIndex(nearest, x, in_len), 0, 0.0};
      continue;
    }
    x = x >= 0 ? std::min(x, static_cast<double>(in_len - 1)) : 0.0;  // NaN -> 0
    const int64_t i0 = static_cast<int64_t>(std::floor(x));
    const int64_t i1 = std::min(i0 + 1, in_len - 1);
    taps[o] = {i0, i1, x - i0};
  }
  return taps;
}

template <typename T>
std::unique_ptr<Op> OwnResize(OpContext& ctx, bool linear, std::vector<Tap> ty, std::vector<Tap> tx) {
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
  return MakeOp(linear ? "own:resize_linear_nhwc" : "own:resize_nearest_nhwc", [=] {
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
          if (!linear) {
            const T* p = in + ((b * h + a.i0) * w + bx.i0) * c;
            for (int64_t ch = 0; ch < c; ++ch) o[ch] = p[ch];
            continue;
          }
          for (int64_t ch = 0; ch < c; ++ch) {
            const double top = at(b, a.i0, bx.i0, ch) * (1 - bx.w1) + at(b, a.i0, bx.i1, ch) * bx.w1;
            const double bottom = at(b, a.i1, bx.i0, ch) * (1 - bx.w1) + at(b, a.i1, bx.i1, ch) * bx.w1;
            const double v = top * (1 - a.w1) + bottom * a.w1;
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
  ctx.Expect(mode == "nearest" || mode == "linear", "mode must be 'nearest' or 'linear'");
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
  const bool linear = mode == "linear";
  auto ty = Taps(linear, coord, nearest, scales[0], y.shape[1], x.shape[1]);
  auto tx = Taps(linear, coord, nearest, scales[1], y.shape[2], x.shape[2]);
  switch (x.dtype) {
    case ElemType::kFloat32: return OwnResize<float>(ctx, linear, ty, tx);
    case ElemType::kInt8:
    case ElemType::kUint8:
      if (linear) {
        ctx.ExpectPerTensorQuant(x, "input");
        ctx.ExpectPerTensorQuant(y, "output");
      } else {
        ctx.ExpectSameQuant(x, y);
      }
      return x.dtype == ElemType::kInt8 ? OwnResize<int8_t>(ctx, linear, ty, tx)
                                        : OwnResize<uint8_t>(ctx, linear, ty, tx);
    default: throw ctx.Fail(std::string("unsupported dtype ") + ElemTypeName(x.dtype));
  }
}

}  // namespace

std::unique_ptr<Op> CreateResizeOp(OpContext& ctx) {
  return CreateResize(ctx);
}

}  // namespace runtime
}  // namespace octet
