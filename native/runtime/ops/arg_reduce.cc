// Index reductions along one axis; own kernels.
//   ArgMax, ArgMin: X (float32, int32, int64, or 8-bit: stored values order like real ones) -> Y int64.
//     axis (0), keepdims (1), selectLastIndex (0: the first extreme wins ties, 1: the last).
//   Hardmax: X float32 -> Y float32 of X's shape, 1 at the first maximum along axis (-1), 0 elsewhere.
#include <cmath>

#include "runtime/op.h"
#include "runtime/ops/broadcast.h"

namespace octet {
namespace runtime {

namespace {

// [outer, dim, inner] view of a shape around `axis`.
struct AxisView {
  size_t outer = 1, dim = 1, inner = 1;
  AxisView(const Shape& s, int64_t axis) {
    for (int64_t d = 0; d < static_cast<int64_t>(s.size()); ++d) {
      if (d < axis) outer *= s[d];
      if (d == axis) dim = s[d];
      if (d > axis) inner *= s[d];
    }
  }
};

// Index along the axis of the extreme value of the lane starting at p with stride `inner`.
template <typename T>
int64_t Extreme(const T* p, size_t dim, size_t inner, bool max, bool last) {
  int64_t best = 0;
  for (size_t k = 1; k < dim; ++k) {
    const T v = p[k * inner], b = p[best * inner];
    const bool better = max ? (last ? v >= b : v > b) : (last ? v <= b : v < b);
    if (better) best = static_cast<int64_t>(k);
  }
  return best;
}

std::unique_ptr<Op> CreateArgReduce(OpContext& ctx) {
  ctx.ExpectArity(1, 1, 1);
  const ValueDesc& x = ctx.input(0);
  const ValueDesc& y = ctx.output(0);
  const bool max = ctx.node().op == "ArgMax";
  ctx.Expect(!x.shape.empty(), "input must have rank >= 1");
  const int64_t axis = ctx.Axis(ctx.Int("axis", 0), x.shape.size(), "axis");
  const bool keep = ctx.Int("keepdims", 1) != 0;
  const bool last = ctx.Int("selectLastIndex", 0) != 0;
  ctx.ExpectDType(y, ElemType::kInt64, "output");
  ctx.Expect(x.dtype != ElemType::kBool, "bool input is not supported");
  Shape out;
  for (size_t d = 0; d < x.shape.size(); ++d) {
    if (static_cast<int64_t>(d) != axis) {
      out.push_back(x.shape[d]);
    } else if (keep) {
      out.push_back(1);
    }
  }
  ctx.ExpectShape(y, out, "output");
  ctx.Expect(x.shape[axis] > 0, "the reduced axis is empty");
  const AxisView v(x.shape, axis);
  int64_t* Y = ctx.out<int64_t>(0);
  return WithElemType(x.dtype, [&](auto tag) -> std::unique_ptr<Op> {
    using T = decltype(tag);
    const T* X = ctx.in<T>(0);
    return MakeOp(std::string("own:") + (max ? "argmax" : "argmin"), [=] {
      for (size_t o = 0; o < v.outer; ++o)
        for (size_t i = 0; i < v.inner; ++i)
          Y[o * v.inner + i] = Extreme(X + o * v.dim * v.inner + i, v.dim, v.inner, max, last);
    });
  });
}

std::unique_ptr<Op> CreateHardmax(OpContext& ctx) {
  ctx.ExpectArity(1, 1, 1);
  const ValueDesc& x = ctx.input(0);
  const ValueDesc& y = ctx.output(0);
  ctx.ExpectDType(x, ElemType::kFloat32, "input");
  ctx.ExpectDType(y, ElemType::kFloat32, "output");
  ctx.ExpectShape(y, x.shape, "output");
  ctx.Expect(!x.shape.empty(), "input must have rank >= 1");
  const int64_t axis = ctx.Axis(ctx.Int("axis", -1), x.shape.size(), "axis");
  const AxisView v(x.shape, axis);
  const float* X = ctx.in<float>(0);
  float* Y = ctx.out<float>(0);
  const size_t n = x.elements();
  return MakeOp("own:hardmax", [=] {
    for (size_t j = 0; j < n; ++j) Y[j] = 0;
    if (v.dim == 0) return;
    for (size_t o = 0; o < v.outer; ++o)
      for (size_t i = 0; i < v.inner; ++i) {
        const size_t base = o * v.dim * v.inner + i;
        Y[base + Extreme(X + base, v.dim, v.inner, true, false) * v.inner] = 1;
      }
  });
}

}  // namespace

std::unique_ptr<Op> CreateArgReduceOp(OpContext& ctx) {
  return CreateArgReduce(ctx);
}
std::unique_ptr<Op> CreateHardmaxOp(OpContext& ctx) {
  return CreateHardmax(ctx);
}

}  // namespace runtime
}  // namespace octet
