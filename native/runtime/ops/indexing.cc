// Indexing and broadcasting data movement; own kernels. 8-bit data keeps its quant (bytes move).
//   GatherElements (axis), ScatterElements (axis, reduction none|add|mul|max|min), GatherND (batchDims),
//   ScatterND (reduction): indices int32/int64, negative ones wrap; an index out of range rejects the run with
//     ERR_OCTET_INDEX_OUT_OF_RANGE. Scatter reductions other than 'none' need plain (unquantized) data.
//   Trilu (upper 1, k 0): keeps the upper/lower triangle of the last two dims, zeroes the rest.
//   Expand: numpy broadcast of X to the output shape.   Tile: repeats = output dims / input dims.
//   OneHot (axis): indices (int32/int64/float32), values [off, on] -> depth from the output shape; indices outside
//     [-depth, depth) give an all-off row.
//   TopK (axis, largest 1): X -> values, int64 indices; k from the outputs' shape; sorted, ties by lower index.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "runtime/op.h"
#include "runtime/ops/broadcast.h"

namespace octet {
namespace runtime {

namespace {

int64_t LoadIndex(const void* p, bool i64, size_t j) {
  return i64 ? static_cast<const int64_t*>(p)[j] : static_cast<const int32_t*>(p)[j];
}

int64_t WrapIndex(int64_t k, int64_t dim) {
  const int64_t w = k < 0 ? k + dim : k;
  if (w < 0 || w >= dim) {
    throw Error("ERR_OCTET_INDEX_OUT_OF_RANGE", "index " + std::to_string(k) + " is out of range [" +
                                                    std::to_string(-dim) + ", " + std::to_string(dim) + ")");
  }
  return w;
}

void ExpectIndices(OpContext& ctx, const ValueDesc& idx) {
  ctx.Expect(idx.dtype == ElemType::kInt32 || idx.dtype == ElemType::kInt64, "indices must be int32 or int64");
}

enum class Reduction { kNone, kAdd, kMul, kMax, kMin };

Reduction ReductionOf(OpContext& ctx, const ValueDesc& data) {
  const std::string r = ctx.Str("reduction", "none");
  if (r == "none") return Reduction::kNone;
  ctx.Expect(!data.has_quant, "reduction '" + r + "' needs unquantized data");
  ctx.Expect(data.dtype != ElemType::kBool, "reduction '" + r + "' on bool is not supported");
  if (r == "add") return Reduction::kAdd;
  if (r == "mul") return Reduction::kMul;
  if (r == "max") return Reduction::kMax;
  ctx.Expect(r == "min", "reduction must be 'none', 'add', 'mul', 'max' or 'min'");
  return Reduction::kMin;
}

// dst[0..n) (op)= src[0..n) in element type t.
void Combine(ElemType t, Reduction r, uint8_t* dst, const uint8_t* src, size_t n) {
  if (r == Reduction::kNone) {
    std::memcpy(dst, src, n * ElemSize(t));
    return;
  }
  WithElemType(t, [&](auto tag) {
    using T = decltype(tag);
    T* d = reinterpret_cast<T*>(dst);
    const T* s = reinterpret_cast<const T*>(src);
    for (size_t i = 0; i < n; ++i) {
      switch (r) {
        case Reduction::kAdd: d[i] = static_cast<T>(d[i] + s[i]); break;
        case Reduction::kMul: d[i] = static_cast<T>(d[i] * s[i]); break;
        case Reduction::kMax: d[i] = std::max(d[i], s[i]); break;
        case Reduction::kMin: d[i] = std::min(d[i], s[i]); break;
        case Reduction::kNone: break;
      }
    }
  });
}

// GatherElements / GatherND and ScatterElements / ScatterND: the checks they share, and the buffers their kernels
// read. The result is the output for a gather; for a scatter it is the updates (input 2), and the output has data's
// shape, starting as a copy of data.
void ExpectGatherScatterInputs(OpContext& ctx, bool scatter) {
  ctx.ExpectArity(scatter ? 3 : 2, scatter ? 3 : 2, 1);
  ExpectIndices(ctx, ctx.input(1));
  ctx.ExpectSameQuant(ctx.input(0), ctx.output(0));
}

struct GatherScatter {
  Reduction red;
  ElemType t;
  size_t elem, bytes;
  bool i64;
  const uint8_t* x;
  const void* indices;
  const uint8_t* updates;
  uint8_t* y;
};

GatherScatter GatherScatterOf(OpContext& ctx, bool scatter, const Shape& result) {
  const ValueDesc& x = ctx.input(0);
  const ValueDesc& y = ctx.output(0);
  const Reduction red = scatter ? ReductionOf(ctx, x) : Reduction::kNone;
  if (scatter) {
    ctx.ExpectSameQuant(x, ctx.input(2));
    ctx.ExpectShape(ctx.input(2), result, "updates");
    ctx.ExpectShape(y, x.shape, "output");
  } else {
    ctx.ExpectShape(y, result, "output");
  }
  return {red,
          x.dtype,
          ElemSize(x.dtype),
          x.bytes(),
          ctx.input(1).dtype == ElemType::kInt64,
          ctx.in<uint8_t>(0),
          ctx.in_ptr(1),
          scatter ? ctx.in<uint8_t>(2) : nullptr,
          ctx.out<uint8_t>(0)};
}

// GatherElements and ScatterElements share the walk over the indices' shape.
std::unique_ptr<Op> CreateElements(OpContext& ctx, bool scatter) {
  ExpectGatherScatterInputs(ctx, scatter);
  const ValueDesc& x = ctx.input(0);
  const ValueDesc& idx = ctx.input(1);
  const size_t rank = x.shape.size();
  ctx.Expect(rank >= 1 && idx.shape.size() == rank,
             "indices must have the rank of data (" + std::to_string(rank) + ")");
  const int64_t axis = ctx.Axis(ctx.Int("axis", 0), rank, "axis");
  for (size_t d = 0; d < rank; ++d) {
    ctx.Expect(static_cast<int64_t>(d) == axis || idx.shape[d] <= x.shape[d],
               "indices " + ShapeString(idx.shape) + " exceed data " + ShapeString(x.shape) + " outside the axis");
  }
  const GatherScatter g = GatherScatterOf(ctx, scatter, idx.shape);
  const auto xs = Strides(x.shape);
  std::vector<size_t> walk(xs.begin(), xs.end());
  walk[axis] = 0;
  const std::array<std::vector<size_t>, 1> st = {walk};
  const Shape ishape = idx.shape;
  const int64_t dim = x.shape[axis];
  const size_t axis_stride = xs[axis];
  return MakeOp(scatter ? "own:scatter_elements" : "own:gather_elements", [=] {
    if (scatter) std::memcpy(g.y, g.x, g.bytes);
    ForEachBroadcastN<1>(ishape, st, [&](size_t i, const std::array<size_t, 1>& o) {
      const size_t at = o[0] + WrapIndex(LoadIndex(g.indices, g.i64, i), dim) * axis_stride;
      if (scatter) {
        Combine(g.t, g.red, g.y + at * g.elem, g.updates + i * g.elem, 1);
      } else {
        std::memcpy(g.y + i * g.elem, g.x + at * g.elem, g.elem);
      }
    });
  });
}

// GatherND (batchDims) and ScatterND (no batch dims, as ONNX defines it).
std::unique_ptr<Op> CreateND(OpContext& ctx, bool scatter) {
  ExpectGatherScatterInputs(ctx, scatter);
  const ValueDesc& x = ctx.input(0);
  const ValueDesc& idx = ctx.input(1);
  const int64_t b = scatter ? 0 : ctx.Int("batchDims", 0);
  const int64_t r = static_cast<int64_t>(x.shape.size()), q = static_cast<int64_t>(idx.shape.size());
  ctx.Expect(q >= 1 && b >= 0 && b < std::min(r, q), "batchDims must be in [0, min(rank(data), rank(indices)))");
  const int64_t k = idx.shape[q - 1];
  ctx.Expect(k >= 1 && b + k <= r, "indices' last dim must be in [1, rank(data) - batchDims]");
  for (int64_t d = 0; d < b; ++d) ctx.Expect(idx.shape[d] == x.shape[d], "batch dims of data and indices differ");
  Shape out(idx.shape.begin(), idx.shape.end() - 1);
  out.insert(out.end(), x.shape.begin() + b + k, x.shape.end());
  const GatherScatter g = GatherScatterOf(ctx, scatter, out);
  size_t batches = 1, lookups = 1, slice = 1;
  for (int64_t d = 0; d < b; ++d) batches *= x.shape[d];
  for (int64_t d = b; d < q - 1; ++d) lookups *= idx.shape[d];
  for (int64_t d = b + k; d < r; ++d) slice *= x.shape[d];
  const auto xs = Strides(x.shape);
  const size_t block = b > 0 ? xs[b - 1] : x.elements();
  const Shape xshape = x.shape;
  return MakeOp(scatter ? "own:scatter_nd" : "own:gather_nd", [=] {
    if (scatter) std::memcpy(g.y, g.x, g.bytes);
    for (size_t bi = 0; bi < batches; ++bi)
      for (size_t m = 0; m < lookups; ++m) {
        const size_t row = bi * lookups + m;
        size_t at = bi * block;
        for (int64_t j = 0; j < k; ++j) {
          at += WrapIndex(LoadIndex(g.indices, g.i64, row * k + j), xshape[b + j]) * xs[b + j];
        }
        if (scatter) {
          Combine(g.t, g.red, g.y + at * g.elem, g.updates + row * slice * g.elem, slice);
        } else {
          std::memcpy(g.y + row * slice * g.elem, g.x + at * g.elem, slice * g.elem);
        }
      }
  });
}

// The byte pattern of real 0 in a value's dtype (its zero point when quantized).
std::vector<uint8_t> ZeroOf(const ValueDesc& v) {
  std::vector<uint8_t> z(ElemSize(v.dtype), 0);
  if (IsQuantized8(v.dtype) && v.has_quant) z[0] = static_cast<uint8_t>(v.quant.zero_point[0]);
  return z;
}

std::unique_ptr<Op> CreateTrilu(OpContext& ctx) {
  ctx.ExpectArity(1, 1, 1);
  const ValueDesc& x = ctx.input(0);
  const ValueDesc& y = ctx.output(0);
  ctx.ExpectSameQuant(x, y);
  ctx.ExpectShape(y, x.shape, "output");
  const size_t rank = x.shape.size();
  ctx.Expect(rank >= 2, "input must have rank >= 2");
  if (IsQuantized8(x.dtype) && x.has_quant) ctx.ExpectPerTensorQuant(x, "input");
  const bool upper = ctx.Int("upper", 1) != 0;
  const int64_t k = ctx.Int("k", 0);
  const int64_t rows = x.shape[rank - 2], cols = x.shape[rank - 1];
  const size_t mats = rows * cols == 0 ? 0 : x.elements() / (rows * cols), elem = ElemSize(x.dtype);
  const std::vector<uint8_t> zero = ZeroOf(y);
  const uint8_t* X = ctx.in<uint8_t>(0);
  uint8_t* Y = ctx.out<uint8_t>(0);
  return MakeOp("own:trilu", [=] {
    for (size_t m = 0; m < mats; ++m)
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j) {
          const size_t at = (m * rows + i) * cols + j;
          const bool keep = upper ? j - i >= k : j - i <= k;
          std::memcpy(Y + at * elem, keep ? X + at * elem : zero.data(), elem);
        }
  });
}

std::unique_ptr<Op> CreateExpand(OpContext& ctx) {
  ctx.ExpectArity(1, 1, 1);
  const ValueDesc& x = ctx.input(0);
  const ValueDesc& y = ctx.output(0);
  ctx.ExpectSameQuant(x, y);
  Shape out;
  ctx.Expect(BroadcastShapes(x.shape, y.shape, &out) && out == y.shape,
             "cannot expand " + ShapeString(x.shape) + " to " + ShapeString(y.shape));
  const std::array<std::vector<size_t>, 1> st = {BroadcastStrides(x.shape, out)};
  const size_t elem = ElemSize(x.dtype);
  const uint8_t* X = ctx.in<uint8_t>(0);
  uint8_t* Y = ctx.out<uint8_t>(0);
  return MakeOp("own:expand", [=] {
    ForEachBroadcastN<1>(
        out, st, [&](size_t i, const std::array<size_t, 1>& o) { std::memcpy(Y + i * elem, X + o[0] * elem, elem); });
  });
}

std::unique_ptr<Op> CreateTile(OpContext& ctx) {
  ctx.ExpectArity(1, 1, 1);
  const ValueDesc& x = ctx.input(0);
  const ValueDesc& y = ctx.output(0);
  ctx.ExpectSameQuant(x, y);
  const size_t rank = x.shape.size();
  ctx.Expect(y.shape.size() == rank, "the output must have the input's rank");
  for (size_t d = 0; d < rank; ++d) {
    ctx.Expect(x.shape[d] == 0 ? y.shape[d] == 0 : y.shape[d] % x.shape[d] == 0,
               "output " + ShapeString(y.shape) + " is not a tiling of " + ShapeString(x.shape));
  }
  const Shape in = x.shape, out = y.shape;
  const auto xs = Strides(in);
  const size_t n = y.elements(), elem = ElemSize(x.dtype);
  const uint8_t* X = ctx.in<uint8_t>(0);
  uint8_t* Y = ctx.out<uint8_t>(0);
  return MakeOp("own:tile", [=] {
    std::vector<int64_t> idx(rank, 0);
    for (size_t i = 0; i < n; ++i) {
      size_t at = 0;
      for (size_t d = 0; d < rank; ++d) at += (idx[d] % in[d]) * xs[d];
      std::memcpy(Y + i * elem, X + at * elem, elem);
      for (size_t d = rank; d-- > 0;) {
        if (++idx[d] < out[d]) break;
        idx[d] = 0;
      }
    }
  });
}

std::unique_ptr<Op> CreateOneHot(OpContext& ctx) {
  ctx.ExpectArity(2, 2, 1);
  const ValueDesc& idx = ctx.input(0);
  const ValueDesc& values = ctx.input(1);
  const ValueDesc& y = ctx.output(0);
  ctx.Expect(idx.dtype == ElemType::kInt32 || idx.dtype == ElemType::kInt64 || idx.dtype == ElemType::kFloat32,
             "indices must be int32, int64 or float32");
  ctx.ExpectSameQuant(values, y);
  ctx.ExpectShape(values, {2}, "values");
  const int64_t axis = ctx.Axis(ctx.Int("axis", -1), idx.shape.size() + 1, "axis");
  ctx.Expect(y.shape.size() == idx.shape.size() + 1, "the output must have rank(indices) + 1");
  Shape expect = idx.shape;
  expect.insert(expect.begin() + axis, y.shape[axis]);
  ctx.ExpectShape(y, expect, "output");
  const int64_t depth = y.shape[axis];
  size_t outer = 1, inner = 1;
  for (int64_t d = 0; d < static_cast<int64_t>(idx.shape.size()); ++d) (d < axis ? outer : inner) *= idx.shape[d];
  const ElemType it = idx.dtype;
  const size_t elem = ElemSize(y.dtype);
  const void* I = ctx.in_ptr(0);
  const uint8_t* V = ctx.in<uint8_t>(1);
  uint8_t* Y = ctx.out<uint8_t>(0);
  return MakeOp("own:one_hot", [=] {
    for (size_t o = 0; o < outer; ++o)
      for (int64_t d = 0; d < depth; ++d)
        for (size_t i = 0; i < inner; ++i) {
          const size_t j = o * inner + i;
          int64_t k = -depth - 1;  // a NaN or huge float index matches no position
          if (it != ElemType::kFloat32) {
            k = LoadIndex(I, it == ElemType::kInt64, j);
          } else if (std::fabs(static_cast<const float*>(I)[j]) < static_cast<float>(depth) + 1) {
            k = static_cast<int64_t>(static_cast<const float*>(I)[j]);
          }
          if (k < 0) k += depth;
          std::memcpy(Y + ((o * depth + d) * inner + i) * elem, V + (k == d ? elem : 0), elem);
        }
  });
}

std::unique_ptr<Op> CreateTopK(OpContext& ctx) {
  ctx.ExpectArity(1, 1, 2);
  const ValueDesc& x = ctx.input(0);
  const ValueDesc& vals = ctx.output(0);
  const ValueDesc& inds = ctx.output(1);
  ctx.ExpectSameQuant(x, vals);
  ctx.ExpectDType(inds, ElemType::kInt64, "indices");
  ctx.Expect(x.dtype != ElemType::kBool, "bool input is not supported");
  ctx.Expect(!x.shape.empty(), "input must have rank >= 1");
  const int64_t axis = ctx.Axis(ctx.Int("axis", -1), x.shape.size(), "axis");
  const bool largest = ctx.Int("largest", 1) != 0;
  const int64_t k = vals.shape.size() == x.shape.size() ? vals.shape[axis] : -1;
  ctx.Expect(k >= 0 && k <= x.shape[axis], "k must be in [0, " + std::to_string(x.shape[axis]) + "]");
  Shape out = x.shape;
  out[axis] = k;
  ctx.ExpectShape(vals, out, "values");
  ctx.ExpectShape(inds, out, "indices");
  size_t outer = 1, inner = 1;
  for (int64_t d = 0; d < static_cast<int64_t>(x.shape.size()); ++d) {
    if (d < axis) outer *= x.shape[d];
    if (d > axis) inner *= x.shape[d];
  }
  const int64_t dim = x.shape[axis];
  int64_t* IY = ctx.out<int64_t>(1);
  return WithElemType(x.dtype, [&](auto tag) -> std::unique_ptr<Op> {
    using T = decltype(tag);
    const T* X = ctx.in<T>(0);
    T* VY = ctx.out<T>(0);
    return MakeOp("own:topk", [=] {
      std::vector<int64_t> order(dim);
      for (size_t o = 0; o < outer; ++o)
        for (size_t i = 0; i < inner; ++i) {
          const T* lane = X + o * dim * inner + i;
          std::iota(order.begin(), order.end(), 0);
          // Ties keep the lower index first (onnxruntime's order); partial_sort is not stable, so compare indices.
          std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int64_t a, int64_t b) {
            const T va = lane[a * inner], vb = lane[b * inner];
            if (va != vb) return largest ? va > vb : va < vb;
            return a < b;
          });
          for (int64_t j = 0; j < k; ++j) {
            const size_t at = (o * k + j) * inner + i;
            VY[at] = lane[order[j] * inner];
            IY[at] = order[j];
          }
        }
    });
  });
}

}  // namespace

std::unique_ptr<Op> CreateGatherElementsOp(OpContext& ctx) {
  return CreateElements(ctx, false);
}
std::unique_ptr<Op> CreateScatterElementsOp(OpContext& ctx) {
  return CreateElements(ctx, true);
}
std::unique_ptr<Op> CreateGatherNDOp(OpContext& ctx) {
  return CreateND(ctx, false);
}
std::unique_ptr<Op> CreateScatterNDOp(OpContext& ctx) {
  return CreateND(ctx, true);
}
std::unique_ptr<Op> CreateTriluOp(OpContext& ctx) {
  return CreateTrilu(ctx);
}
std::unique_ptr<Op> CreateExpandOp(OpContext& ctx) {
  return CreateExpand(ctx);
}
std::unique_ptr<Op> CreateTileOp(OpContext& ctx) {
  return CreateTile(ctx);
}
std::unique_ptr<Op> CreateOneHotOp(OpContext& ctx) {
  return CreateOneHot(ctx);
}
std::unique_ptr<Op> CreateTopKOp(OpContext& ctx) {
  return CreateTopK(ctx);
}

}  // namespace runtime
}  // namespace octet
