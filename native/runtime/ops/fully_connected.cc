// FullyConnected and MatMul.
//
// FullyConnected: X [..., K], constant W [N, K], optional constant bias [N], Y [..., N]; attributes
// activationMin / activationMax. float32 runs xnn_fully_connected_nc_f32; int8/uint8 runs the int8 kernels of
// native/backends (XNNPACK qs8 / qc8-as-1x1-conv, or oneDNN matmul with backend 'onednn'), weights packed once.
// MatMul: A [..., M, K] x B [..., K, N] with numpy broadcasting of the batch dimensions. A constant 2-D B runs as
// FullyConnected (int8: B per tensor or per column, quant axis 1); two activations run an own kernel.
#include <cstring>

#ifdef OCTET_WITH_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#endif

#include "runtime/ops/broadcast.h"
#include "runtime/ops/xnn_op.h"

namespace octet {
namespace runtime {

bool FloatOnOnednn(OpContext& ctx, bool empty);
std::unique_ptr<Op> CreateOnednnFloatMatMul(OpContext& ctx, size_t m, size_t k, size_t n, const float* w,
                                            bool transposed, float amin, float amax);

namespace {

class BackendFullyConnected final : public Op {
 public:
  BackendFullyConnected(std::unique_ptr<Kernel> kernel, const void* in, void* out, size_t batch)
      : kernel_(std::move(kernel)), in_(in), out_(out), batch_(batch) {}
  void Run() override { kernel_->Run(in_, out_, batch_); }
  std::string implementation() const override { return kernel_->implementation(); }

 private:
  std::unique_ptr<Kernel> kernel_;
  const void* in_;
  void* out_;
  size_t batch_;
};

// weights: [N, K] int8 (already transposed if needed); scales: 1 or N.
std::unique_ptr<Op> CreateQuantizedFc(OpContext& ctx, size_t m, size_t k, size_t n, std::vector<int8_t> weights,
                                      std::vector<float> scales, const ValueDesc* bias) {
  const ValueDesc& x = ctx.input(0);
  const ValueDesc& y = ctx.output(0);
  ctx.ExpectPerTensorQuant(x, "input");
  ctx.ExpectDType(y, x.dtype, "output");
  ctx.ExpectPerTensorQuant(y, "output");
  FullyConnectedParams p;
  p.input_channels = k;
  p.output_channels = n;
  p.dtype = x.dtype == ElemType::kInt8 ? DType::kInt8 : DType::kUint8;
  p.input_scale = x.quant.scale[0];
  p.input_zero_point = x.quant.zero_point[0];
  p.weights = std::move(weights);
  p.weight_scales = std::move(scales);
  if (bias) {
    const int32_t* b = ctx.in<int32_t>(2);
    p.bias.assign(b, b + n);
  }
  p.output_scale = y.quant.scale[0];
  p.output_zero_point = y.quant.zero_point[0];
  ctx.QuantizedActivation(y, &p.output_min, &p.output_max);
  p.threads = ctx.threads();
  const std::string name = ctx.backend().empty() || ctx.backend() == "own" ? "xnnpack" : ctx.backend();
  Backend* backend = GetBackend(name);
  if (backend == nullptr) throw Error("ERR_OCTET_BACKEND_UNAVAILABLE", "backend '" + name + "' is not built in");
  auto op = std::make_unique<BackendFullyConnected>(backend->CreateFullyConnected(p), ctx.in_ptr(0), ctx.out_ptr(0), m);
  ctx.Packed(1);  // the callers copied the weights, and the bias was copied above: the backend owns both
  ctx.Packed(2);
  return op;
}

void CheckBias(OpContext& ctx, ElemType t, int64_t n) {
  if (!ctx.has_input(2)) return;
  ctx.ExpectConstant(2, "bias");
  ctx.ExpectDType(ctx.input(2), t, "bias");
  ctx.ExpectShape(ctx.input(2), {n}, "bias");
}

std::unique_ptr<Op> CreateFloatFc(OpContext& ctx, size_t m, size_t k, size_t n, const float* w, bool transposed) {
  ctx.ExpectDType(ctx.output(0), ElemType::kFloat32, "output");
  const float amin = ctx.ActivationMin(), amax = ctx.ActivationMax();
  ctx.Expect(amin <= amax, "expected activationMin <= activationMax");
  if (FloatOnOnednn(ctx, m == 0)) {
#ifdef OCTET_WITH_ONEDNN
    return CreateOnednnFloatMatMul(ctx, m, k, n, w, transposed, amin, amax);
#else
    throw Error("ERR_OCTET_BACKEND_UNAVAILABLE", "oneDNN is not built into this binary");
#endif
  }
  EnsureXnnpack();
  auto op = MakeXnnOp("fully_connected_nc_f32", ctx.pool(), [&](xnn_operator_t* out) {
    return xnn_create_fully_connected_nc_f32(k, n, k, n, w, ctx.has_input(2) ? ctx.in<float>(2) : nullptr, amin, amax,
                                             transposed ? XNN_FLAG_TRANSPOSE_WEIGHTS : 0, out);
  });
  ctx.Packed(1);  // XNNPACK packed the weights and the bias
  ctx.Packed(2);
  xnnpack::Check(xnn_setup_fully_connected_nc_f32(op->get(), m, ctx.in<float>(0), ctx.out<float>(0), ctx.pool()),
                 "xnn_setup_fully_connected_nc_f32");
  return op;
}

std::unique_ptr<Op> CreateFullyConnected(OpContext& ctx) {
  ctx.ExpectArity(2, 3, 1);
  ctx.ExpectConstant(1, "weights");
  const ValueDesc& x = ctx.input(0);
  const ValueDesc& w = ctx.input(1);
  ctx.Expect(x.shape.size() >= 1, "input '" + x.name + "' must have rank >= 1");
  ctx.Expect(w.shape.size() == 2, "expected 2-D weights [N, K] but '" + w.name + "' is " + ShapeString(w.shape));
  const int64_t k = x.shape.back(), n = w.shape[0];
  ctx.Expect(w.shape[1] == k, "weights " + ShapeString(w.shape) + " do not match K = " + std::to_string(k));
  Shape out_shape = x.shape;
  out_shape.back() = n;
  ctx.ExpectShape(ctx.output(0), out_shape, "output");
  const size_t m = x.elements() / std::max<int64_t>(k, 1);
  ctx.Expect(k > 0 && n > 0, "K and N must be positive");
  if (x.dtype == ElemType::kFloat32) {
    ctx.ExpectDType(w, ElemType::kFloat32, "weights");
    CheckBias(ctx, ElemType::kFloat32, n);
    ctx.Expect(ctx.backend().empty() || ctx.backend() == "xnnpack" || ctx.backend() == "onednn",
               "float32 FullyConnected runs on 'xnnpack' or 'onednn'");
    return CreateFloatFc(ctx, m, k, n, ctx.in<float>(1), false);
  }
  ctx.Expect(IsQuantized8(x.dtype), std::string("unsupported input dtype ") + ElemTypeName(x.dtype));
  ctx.ExpectDType(w, ElemType::kInt8, "weights");
  ctx.Expect(w.has_quant && (w.quant.per_tensor() || w.quant.axis == 0),
             "weights '" + w.name + "' need quant parameters, per tensor or along axis 0");
  for (int32_t z : w.quant.zero_point) ctx.Expect(z == 0, "weights '" + w.name + "' must be symmetric (zero point 0)");
  CheckBias(ctx, ElemType::kInt32, n);
  const int8_t* wp = ctx.in<int8_t>(1);
  return CreateQuantizedFc(ctx, m, k, n, std::vector<int8_t>(wp, wp + w.elements()), w.quant.scale,
                           ctx.has_input(2) ? &ctx.input(2) : nullptr);
}

// Batched matmul of two activations (or a constant of rank > 2), in float (int8: dequantize, requantize).
template <typename T>
std::unique_ptr<Op> CreateBatchedMatMul(OpContext& ctx) {
  const ValueDesc& a = ctx.input(0);
  const ValueDesc& b = ctx.input(1);
  const ValueDesc& y = ctx.output(0);
  const size_t ra = a.shape.size(), rb = b.shape.size();
  const int64_t m = a.shape[ra - 2], k = a.shape[ra - 1], n = b.shape[rb - 1];
  ctx.Expect(b.shape[rb - 2] == k, "inner dimensions differ: " + ShapeString(a.shape) + " x " + ShapeString(b.shape));
  Shape ba(a.shape.begin(), a.shape.end() - 2), bb(b.shape.begin(), b.shape.end() - 2), batch;
  ctx.Expect(BroadcastShapes(ba, bb, &batch),
             "batch dimensions do not broadcast: " + ShapeString(a.shape) + " x " + ShapeString(b.shape));
  Shape out = batch;
  out.push_back(m);
  out.push_back(n);
  ctx.ExpectShape(y, out, "output");
  ctx.ExpectDType(b, a.dtype, "B");
  ctx.ExpectDType(y, a.dtype, "output");
  Affine qa, qb, qy;
  if (IsQuantized8(a.dtype)) {
    ctx.ExpectPerTensorQuant(a, "A");
    ctx.ExpectPerTensorQuant(b, "B");
    ctx.ExpectPerTensorQuant(y, "output");
    qa = {a.quant.scale[0], a.quant.zero_point[0]};
    qb = {b.quant.scale[0], b.quant.zero_point[0]};
    qy = {y.quant.scale[0], y.quant.zero_point[0]};
  }
  int32_t lo = 0, hi = 0;
  float amin = 0, amax = 0;
  if (IsQuantized8(a.dtype)) {
    ctx.QuantizedActivation(y, &lo, &hi);
  } else {
    amin = ctx.ActivationMin();
    amax = ctx.ActivationMax();
  }
  const bool quantized = IsQuantized8(a.dtype);
  const auto sa = BroadcastStrides(ba, batch), sb = BroadcastStrides(bb, batch);
  const T* A = ctx.in<T>(0);
  const T* B = ctx.in<T>(1);
  T* Y = ctx.out<T>(0);
  const size_t mk = m * k, kn = k * n, mn = m * n;
#ifdef OCTET_WITH_ONEDNN
  if (FloatOnOnednn(ctx, y.elements() == 0 || k == 0)) {
    // oneDNN's row-major sgemm per batch entry (int8: on the dequantized operands, then requantized): the same
    // float arithmetic as below, blocked and vectorised.
    return MakeOp("onednn:sgemm", [=] {
      std::vector<float> fa(quantized ? mk : 0), fb(quantized ? kn : 0), fy(quantized ? mn : 0);
      ForEachBroadcast(batch, sa, sb, [&](size_t i, size_t ia, size_t ib) {
        const T* pa = A + ia * mk;
        const T* pb = B + ib * kn;
        T* py = Y + i * mn;
        const float* ga = reinterpret_cast<const float*>(pa);
        const float* gb = reinterpret_cast<const float*>(pb);
        float* gy = reinterpret_cast<float*>(py);
        if (quantized) {
          for (size_t j = 0; j < mk; ++j) fa[j] = static_cast<float>(pa[j]) - qa.zero_point;
          for (size_t j = 0; j < kn; ++j) fb[j] = static_cast<float>(pb[j]) - qb.zero_point;
          ga = fa.data();
          gb = fb.data();
          gy = fy.data();
        }
        const dnnl_status_t st = dnnl_sgemm('N', 'N', m, n, k, 1.0f, ga, k, gb, n, 0.0f, gy, n);
        if (st != dnnl_success) throw Error("ERR_OCTET_ONEDNN", "dnnl_sgemm failed with status " + std::to_string(st));
        for (size_t j = 0; j < mn; ++j) {
          if (quantized) {
            py[j] = static_cast<T>(
                QuantizeValue(static_cast<double>(fy[j]) * qa.scale * qb.scale / qy.scale, 1.0, qy.zero_point, lo, hi));
          } else {
            py[j] = static_cast<T>(std::min(std::max(gy[j], amin), amax));
          }
        }
      });
    });
  }
#endif
  return MakeOp("own:matmul", [=] {
    std::vector<float> acc(n);
    std::vector<float> bf(quantized ? kn : 0);
    ForEachBroadcast(batch, sa, sb, [&](size_t i, size_t ia, size_t ib) {
      const T* pa = A + ia * mk;
      const T* pb = B + ib * kn;
      T* py = Y + i * mn;
      if (quantized) {
        for (size_t j = 0; j < kn; ++j) bf[j] = static_cast<float>(pb[j]) - qb.zero_point;
      }
      for (int64_t r = 0; r < m; ++r) {
        std::fill(acc.begin(), acc.end(), 0.0f);
        for (int64_t kk = 0; kk < k; ++kk) {
          const float av =
              quantized ? static_cast<float>(pa[r * k + kk]) - qa.zero_point : static_cast<float>(pa[r * k + kk]);
          if (av == 0.0f) continue;
          const float* brow = quantized ? bf.data() + kk * n : reinterpret_cast<const float*>(pb) + kk * n;
          for (int64_t c = 0; c < n; ++c) acc[c] += av * brow[c];
        }
        for (int64_t c = 0; c < n; ++c) {
          if (quantized) {
            py[r * n + c] = static_cast<T>(QuantizeValue(static_cast<double>(acc[c]) * qa.scale * qb.scale / qy.scale,
                                                         1.0, qy.zero_point, lo, hi));
          } else {
            py[r * n + c] = static_cast<T>(std::min(std::max(acc[c], amin), amax));
          }
        }
      }
    });
  });
}

std::unique_ptr<Op> CreateMatMul(OpContext& ctx) {
  ctx.ExpectArity(2, 2, 1);
  const ValueDesc& a = ctx.input(0);
  const ValueDesc& b = ctx.input(1);
  ctx.Expect(a.shape.size() >= 2 && b.shape.size() >= 2, "MatMul inputs must have rank >= 2 (reshape 1-D operands)");
  const int64_t k = a.shape.back();
  if (b.constant && b.shape.size() == 2 && ctx.backend() != "own") {
    const int64_t n = b.shape[1];
    ctx.Expect(b.shape[0] == k, "inner dimensions differ: " + ShapeString(a.shape) + " x " + ShapeString(b.shape));
    Shape out_shape = a.shape;
    out_shape.back() = n;
    ctx.ExpectShape(ctx.output(0), out_shape, "output");
    const size_t m = a.elements() / std::max<int64_t>(k, 1);
    ctx.Expect(k > 0 && n > 0, "K and N must be positive");
    if (a.dtype == ElemType::kFloat32) {
      ctx.ExpectDType(b, ElemType::kFloat32, "B");
      return CreateFloatFc(ctx, m, k, n, ctx.in<float>(1), true);
    }
    ctx.Expect(IsQuantized8(a.dtype), std::string("unsupported input dtype ") + ElemTypeName(a.dtype));
    if (b.dtype == ElemType::kInt8 && b.has_quant && (b.quant.per_tensor() || b.quant.axis == 1)) {
      bool symmetric = true;
      for (int32_t z : b.quant.zero_point) symmetric = symmetric && z == 0;
      if (symmetric) {
        const int8_t* src = ctx.in<int8_t>(1);
        std::vector<int8_t> w(static_cast<size_t>(k * n));
        for (int64_t r = 0; r < k; ++r)
          for (int64_t c = 0; c < n; ++c) w[c * k + r] = src[r * n + c];
        return CreateQuantizedFc(ctx, m, k, n, std::move(w), b.quant.scale, nullptr);
      }
    }
    // Asymmetric or uint8 weights: the own kernel below.
  }
  switch (a.dtype) {
    case ElemType::kFloat32: return CreateBatchedMatMul<float>(ctx);
    case ElemType::kInt8: return CreateBatchedMatMul<int8_t>(ctx);
    case ElemType::kUint8: return CreateBatchedMatMul<uint8_t>(ctx);
    default: throw ctx.Fail(std::string("unsupported input dtype ") + ElemTypeName(a.dtype));
  }
}

}  // namespace

std::unique_ptr<Op> CreateFullyConnectedOp(OpContext& ctx) {
  return CreateFullyConnected(ctx);
}
std::unique_ptr<Op> CreateMatMulOp(OpContext& ctx) {
  return CreateMatMul(ctx);
}

}  // namespace runtime
}  // namespace octet
