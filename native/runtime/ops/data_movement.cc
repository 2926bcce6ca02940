// Ops that move data without arithmetic (8-bit inputs and outputs must share quant parameters):
//   Reshape / Flatten / Squeeze / Unsqueeze / Identity: same element count, copied (shapes are static).
//   Transpose (perm), Concat (axis), Split (axis; sizes from the output shapes), Slice (starts, ends, axes,
//   steps; ONNX clamping), Pad (pads = [begin..., end...], value; mode 'constant'), Gather (axis; int32/int64
//   indices, negative wrap, out of range throws at run time).
//   Cast: any of float32/int8/uint8/int32/int64/bool to any other (float to int truncates and saturates).
#include <cmath>
#include <cstring>
#include <limits>

#include "runtime/op.h"
#include "runtime/ops/strided_copy.h"

namespace octet {
namespace runtime {

namespace {

std::unique_ptr<Op> CreateReshape(OpContext& ctx) {
  ctx.ExpectArity(1, 1, 1);
  const ValueDesc& x = ctx.input(0);
  const ValueDesc& y = ctx.output(0);
  ctx.ExpectSameQuant(x, y);
  ctx.Expect(x.elements() == y.elements(), "cannot reshape " + ShapeString(x.shape) + " to " + ShapeString(y.shape));
  const void* in = ctx.in_ptr(0);
  void* out = ctx.out_ptr(0);
  const size_t bytes = x.bytes();
  return MakeOp("own:copy", [=] { std::memcpy(out, in, bytes); });
}

std::unique_ptr<Op> CreateTranspose(OpContext& ctx) {
  ctx.ExpectArity(1, 1, 1);
  const ValueDesc& x = ctx.input(0);
  const ValueDesc& y = ctx.output(0);
  ctx.ExpectSameQuant(x, y);
  const size_t rank = x.shape.size();
  std::vector<int64_t> def(rank);
  for (size_t i = 0; i < rank; ++i) def[i] = static_cast<int64_t>(rank - 1 - i);
  std::vector<int64_t> perm = ctx.Ints("perm", def);
  ctx.Expect(perm.size() == rank, "perm must have " + std::to_string(rank) + " entries");
  std::vector<bool> seen(rank, false);
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    ctx.Expect(perm[i] >= 0 && perm[i] < static_cast<int64_t>(rank) && !seen[perm[i]], "perm is not a permutation");
    seen[perm[i]] = true;
    out[i] = x.shape[perm[i]];
  }
  ctx.ExpectShape(y, out, "output");
  const auto in_strides = ContiguousStrides(x.shape);
  std::vector<int64_t> src_strides(rank);
  for (size_t i = 0; i < rank; ++i) src_strides[i] = in_strides[perm[i]];
  const auto dst_strides = ContiguousStrides(out);
  const uint8_t* in = ctx.in<uint8_t>(0);
  uint8_t* o = ctx.out<uint8_t>(0);
  const size_t elem = ElemSize(x.dtype);
  return MakeOp("own:transpose", [=] { StridedCopy(out, in, src_strides, o, dst_strides, elem); });
}

std::unique_ptr<Op> CreateConcat(OpContext& ctx) {
  ctx.Expect(ctx.num_inputs() >= 1 && ctx.num_outputs() == 1, "expected at least 1 input and 1 output");
  const ValueDesc& y = ctx.output(0);
  const size_t rank = y.shape.size();
  const int64_t axis = ctx.Axis(ctx.Int("axis"), rank, "axis");
  struct Part {
    const uint8_t* src;
    Shape shape;
    int64_t offset;
  };
  std::vector<Part> parts;
  int64_t total = 0;
  const auto dst_strides = ContiguousStrides(y.shape);
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    const ValueDesc& x = ctx.input(i);
    ctx.ExpectSameQuant(y, x);
    Shape expect = y.shape;
    expect[axis] = x.shape.size() == rank ? x.shape[axis] : -1;
    ctx.ExpectShape(x, expect, "input");
    parts.push_back({ctx.in<uint8_t>(i), x.shape, total * dst_strides[axis]});
    total += x.shape[axis];
  }
  ctx.Expect(total == y.shape[axis], "the inputs add up to " + std::to_string(total) + " along axis " +
                                         std::to_string(axis) + " but the output has " + std::to_string(y.shape[axis]));
  uint8_t* out = ctx.out<uint8_t>(0);
  const size_t elem = ElemSize(y.dtype);
  return MakeOp("own:concat", [=] {
    for (const Part& p : parts)
      StridedCopy(p.shape, p.src, ContiguousStrides(p.shape), out + p.offset * elem, dst_strides, elem);
  });
}

std::unique_ptr<Op> CreateSplit(OpContext& ctx) {
  ctx.Expect(ctx.num_inputs() == 1 && ctx.has_input(0) && ctx.num_outputs() >= 1,
             "expected 1 input and at least 1 output");
  const ValueDesc& x = ctx.input(0);
  const size_t rank = x.shape.size();
  const int64_t axis = ctx.Axis(ctx.Int("axis", 0), rank, "axis");
  const auto src_strides = ContiguousStrides(x.shape);
  struct Part {
    uint8_t* dst;
    Shape shape;
    int64_t offset;
  };
  std::vector<Part> parts;
  int64_t total = 0;
  for (size_t i = 0; i < ctx.num_outputs(); ++i) {
    const ValueDesc& y = ctx.output(i);
    ctx.ExpectSameQuant(x, y);
    Shape expect = x.shape;
    expect[axis] = y.shape.size() == rank ? y.shape[axis] : -1;
    ctx.ExpectShape(y, expect, "output");
    parts.push_back({ctx.out<uint8_t>(i), y.shape, total * src_strides[axis]});
    total += y.shape[axis];
  }
  ctx.Expect(total == x.shape[axis], "the outputs add up to " + std::to_string(total) + " along axis " +
                                         std::to_string(axis) + " but the input has " + std::to_string(x.shape[axis]));
  const uint8_t* in = ctx.in<uint8_t>(0);
  const size_t elem = ElemSize(x.dtype);
  return MakeOp("own:split", [=] {
    for (const Part& p : parts)
      StridedCopy(p.shape, in + p.offset * elem, src_strides, p.dst, ContiguousStrides(p.shape), elem);
  });
}

std::unique_ptr<Op> CreateSlice(OpContext& ctx) {
  ctx.ExpectArity(1, 1, 1);
  const ValueDesc& x = ctx.input(0);
  const ValueDesc& y = ctx.output(0);
  ctx.ExpectSameQuant(x, y);
  const size_t rank = x.shape.size();
  std::vector<int64_t> starts = ctx.Ints("starts"), ends = ctx.Ints("ends");
  std::vector<int64_t> axes_def(starts.size());
  for (size_t i = 0; i < axes_def.size(); ++i) axes_def[i] = static_cast<int64_t>(i);
  std::vector<int64_t> axes = ctx.Ints("axes", axes_def);
  std::vector<int64_t> steps = ctx.Ints("steps", std::vector<int64_t>(starts.size(), 1));
  ctx.Expect(ends.size() == starts.size() && axes.size() == starts.size() && steps.size() == starts.size(),
             "starts, ends, axes and steps must have the same length");
  std::vector<int64_t> begin(rank, 0), step(rank, 1);
  Shape out = x.shape;
  std::vector<bool> seen(rank, false);
  for (size_t i = 0; i < starts.size(); ++i) {
    const int64_t a = ctx.Axis(axes[i], rank, "axes");
    ctx.Expect(!seen[a], "axes repeats an axis");
    seen[a] = true;
    const int64_t dim = x.shape[a];
    const int64_t s = steps[i];
    ctx.Expect(s != 0, "steps must not be 0");
    int64_t st = starts[i] < 0 ? starts[i] + dim : starts[i];
    int64_t en = ends[i] < 0 ? ends[i] + dim : ends[i];
    if (s > 0) {
      st = std::min(std::max<int64_t>(st, 0), dim);
      en = std::min(std::max<int64_t>(en, 0), dim);
      out[a] = en > st ? (en - st + s - 1) / s : 0;
    } else {
      st = std::min(std::max<int64_t>(st, -1), dim - 1);
      en = std::min(std::max<int64_t>(en, -1), dim - 1);
      out[a] = st > en ? (st - en - s - 1) / (-s) : 0;
    }
    begin[a] = st;
    // A step only matters when it is taken: with at most one element out, stride * step must not overflow.
    step[a] = out[a] > 1 ? s : 1;
  }
  ctx.ExpectShape(y, out, "output");
  const auto in_strides = ContiguousStrides(x.shape);
  std::vector<int64_t> src_strides(rank);
  int64_t offset = 0;
  for (size_t d = 0; d < rank; ++d) {
    src_strides[d] = in_strides[d] * step[d];
    if (out[d] > 0) offset += begin[d] * in_strides[d];
  }
  const auto dst_strides = ContiguousStrides(out);
  const size_t elem = ElemSize(x.dtype);
  const uint8_t* in = ctx.in<uint8_t>(0) + offset * static_cast<int64_t>(elem);
  uint8_t* o = ctx.out<uint8_t>(0);
  return MakeOp("own:slice", [=] { StridedCopy(out, in, src_strides, o, dst_strides, elem); });
}

// Writes `value` (a real number) as one element of dtype t (quantized with q when 8-bit).
void EncodeScalar(double value, const ValueDesc& v, uint8_t* dst) {
  switch (v.dtype) {
    case ElemType::kFloat32: {
      const float f = static_cast<float>(value);
      std::memcpy(dst, &f, 4);
      break;
    }
    case ElemType::kInt8:
    case ElemType::kUint8: {
      const double s = v.has_quant ? v.quant.scale[0] : 1.0;
      const int32_t z = v.has_quant ? v.quant.zero_point[0] : 0;
      const int32_t q = QuantizeValue(value, s, z, QMin(v.dtype), QMax(v.dtype));
      *dst = static_cast<uint8_t>(q);
      break;
    }
    case ElemType::kInt32: {
      const int32_t i = static_cast<int32_t>(value);
      std::memcpy(dst, &i, 4);
      break;
    }
    case ElemType::kInt64: {
      const int64_t i = static_cast<int64_t>(value);
      std::memcpy(dst, &i, 8);
      break;
    }
    case ElemType::kBool: *dst = value != 0; break;
  }
}

std::unique_ptr<Op> CreatePad(OpContext& ctx) {
  ctx.ExpectArity(1, 1, 1);
  const ValueDesc& x = ctx.input(0);
  const ValueDesc& y = ctx.output(0);
  ctx.ExpectSameQuant(x, y);
  const size_t rank = x.shape.size();
  std::vector<int64_t> pads = ctx.Ints("pads");
  ctx.Expect(pads.size() == 2 * rank, "pads must have 2 * rank = " + std::to_string(2 * rank) + " entries");
  const std::string mode = ctx.Str("mode", "constant");
  ctx.Expect(mode == "constant", "only mode 'constant' is supported");
  const double value = ctx.Float("value", 0.0);
  Shape out(rank);
  for (size_t d = 0; d < rank; ++d) {
    ctx.Expect(pads[d] >= 0 && pads[d + rank] >= 0, "negative pads are not supported (use Slice)");
    out[d] = x.shape[d] + pads[d] + pads[d + rank];
  }
  ctx.ExpectShape(y, out, "output");
  const auto dst_strides = ContiguousStrides(out);
  const size_t elem = ElemSize(x.dtype);
  int64_t offset = 0;
  for (size_t d = 0; d < rank; ++d) offset += pads[d] * dst_strides[d];
  uint8_t fill[8] = {0};
  EncodeScalar(value, y, fill);
  const uint8_t* in = ctx.in<uint8_t>(0);
  uint8_t* o = ctx.out<uint8_t>(0);
  const size_t total = y.elements();
  const Shape in_shape = x.shape;
  const auto src_strides = ContiguousStrides(x.shape);
  return MakeOp("own:pad", [=] {
    for (size_t i = 0; i < total; ++i) std::memcpy(o + i * elem, fill, elem);
    StridedCopy(in_shape, in, src_strides, o + offset * elem, dst_strides, elem);
  });
}

std::unique_ptr<Op> CreateGather(OpContext& ctx) {
  ctx.ExpectArity(2, 2, 1);
  const ValueDesc& x = ctx.input(0);
  const ValueDesc& idx = ctx.input(1);
  const ValueDesc& y = ctx.output(0);
  ctx.ExpectSameQuant(x, y);
  ctx.Expect(idx.dtype == ElemType::kInt32 || idx.dtype == ElemType::kInt64, "indices must be int32 or int64");
  ctx.Expect(!x.shape.empty(), "data must have rank >= 1");
  const int64_t axis = ctx.Axis(ctx.Int("axis", 0), x.shape.size(), "axis");
  Shape out(x.shape.begin(), x.shape.begin() + axis);
  out.insert(out.end(), idx.shape.begin(), idx.shape.end());
  out.insert(out.end(), x.shape.begin() + axis + 1, x.shape.end());
  ctx.ExpectShape(y, out, "output");
  size_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape[d];
  for (size_t d = axis + 1; d < x.shape.size(); ++d) inner *= x.shape[d];
  const int64_t dim = x.shape[axis];
  const size_t count = idx.elements(), elem = ElemSize(x.dtype);
  const bool i64 = idx.dtype == ElemType::kInt64;
  const uint8_t* in = ctx.in<uint8_t>(0);
  const void* ip = ctx.in_ptr(1);
  uint8_t* o = ctx.out<uint8_t>(0);
  return MakeOp("own:gather", [=] {
    for (size_t j = 0; j < count; ++j) {
      int64_t k = i64 ? static_cast<const int64_t*>(ip)[j] : static_cast<const int32_t*>(ip)[j];
      if (k < 0) k += dim;
      if (k < 0 || k >= dim) {
        throw Error("ERR_OCTET_INDEX_OUT_OF_RANGE",
                    "index " + std::to_string(k) + " is out of range [0, " + std::to_string(dim) + ")");
      }
      for (size_t b = 0; b < outer; ++b) {
        std::memcpy(o + ((b * count + j) * inner) * elem, in + ((b * dim + k) * inner) * elem, inner * elem);
      }
    }
  });
}

template <typename To>
To CastValue(double v) {
  if constexpr (std::is_same_v<To, float>) {
    return static_cast<float>(v);
  } else if constexpr (std::is_same_v<To, bool>) {
    return v != 0;
  } else {
    if (std::isnan(v)) return 0;
    v = std::trunc(v);
    if (v <= static_cast<double>(std::numeric_limits<To>::lowest())) return std::numeric_limits<To>::lowest();
    if (v >= static_cast<double>(std::numeric_limits<To>::max())) return std::numeric_limits<To>::max();
    return static_cast<To>(v);
  }
}

double LoadAsDouble(ElemType t, const uint8_t* p, size_t i) {
  switch (t) {
    case ElemType::kFloat32: return reinterpret_cast<const float*>(p)[i];
    case ElemType::kInt8: return reinterpret_cast<const int8_t*>(p)[i];
    case ElemType::kUint8: return p[i];
    case ElemType::kInt32: return reinterpret_cast<const int32_t*>(p)[i];
    case ElemType::kInt64: return static_cast<double>(reinterpret_cast<const int64_t*>(p)[i]);
    case ElemType::kBool: return p[i] != 0;
  }
  return 0;
}

std::unique_ptr<Op> CreateCast(OpContext& ctx) {
  ctx.ExpectArity(1, 1, 1);
  const ValueDesc& x = ctx.input(0);
  const ValueDesc& y = ctx.output(0);
  ctx.ExpectShape(y, x.shape, "output");
  const ElemType from = x.dtype, to = y.dtype;
  const size_t n = x.elements();
  const uint8_t* in = ctx.in<uint8_t>(0);
  uint8_t* o = ctx.out<uint8_t>(0);
  if (from == ElemType::kInt32 && to == ElemType::kFloat32) {
    // MatMulInteger's sums to float (dynamic quantization): one rounding either way, so the same as via double.
    return MakeOp("own:cast(int32->float32)", [=] {
      const int32_t* src = reinterpret_cast<const int32_t*>(in);
      float* dst = reinterpret_cast<float*>(o);
      for (size_t i = 0; i < n; ++i) dst[i] = static_cast<float>(src[i]);
    });
  }
  return MakeOp(std::string("own:cast(") + ElemTypeName(from) + "->" + ElemTypeName(to) + ")", [=] {
    for (size_t i = 0; i < n; ++i) {
      if (from == ElemType::kInt64 && to == ElemType::kInt64) {
        reinterpret_cast<int64_t*>(o)[i] = reinterpret_cast<const int64_t*>(in)[i];
        continue;
      }
      const double v = LoadAsDouble(from, in, i);
      switch (to) {
        case ElemType::kFloat32: reinterpret_cast<float*>(o)[i] = CastValue<float>(v); break;
        case ElemType::kInt8: reinterpret_cast<int8_t*>(o)[i] = CastValue<int8_t>(v); break;
        case ElemType::kUint8: o[i] = CastValue<uint8_t>(v); break;
        case ElemType::kInt32: reinterpret_cast<int32_t*>(o)[i] = CastValue<int32_t>(v); break;
        case ElemType::kInt64: reinterpret_cast<int64_t*>(o)[i] = CastValue<int64_t>(v); break;
        case ElemType::kBool: o[i] = v != 0; break;
      }
    }
  });
}

}  // namespace

std::unique_ptr<Op> CreateReshapeOp(OpContext& ctx) {
  return CreateReshape(ctx);
}
std::unique_ptr<Op> CreateTransposeOp(OpContext& ctx) {
  return CreateTranspose(ctx);
}
std::unique_ptr<Op> CreateConcatOp(OpContext& ctx) {
  return CreateConcat(ctx);
}
std::unique_ptr<Op> CreateSplitOp(OpContext& ctx) {
  return CreateSplit(ctx);
}
std::unique_ptr<Op> CreateSliceOp(OpContext& ctx) {
  return CreateSlice(ctx);
}
std::unique_ptr<Op> CreatePadOp(OpContext& ctx) {
  return CreatePad(ctx);
}
std::unique_ptr<Op> CreateGatherOp(OpContext& ctx) {
  return CreateGather(ctx);
}
std::unique_ptr<Op> CreateCastOp(OpContext& ctx) {
  return CreateCast(ctx);
}

}  // namespace runtime
}  // namespace octet
