// float32 FullyConnected / MatMul with a constant 2-D B on oneDNN (see FloatOnOnednn in convolution.cc): a matmul
// primitive src [M, K] x weights [K, N] (+ f32 bias [N]) -> dst [M, N], row-major activations bound to the plan's
// buffers, the weights reordered once into the layout the primitive asks for, the fused clamp as a post-op.
#ifdef OCTET_WITH_ONEDNN

#include <limits>
#include <unordered_map>

#include "backends/onednn/onednn_backend.h"
#include "runtime/op.h"
#include "runtime/ops/onednn_op.h"

namespace octet {
namespace runtime {

namespace {

using dnnl::memory;

class OnednnFloatMatMul final : public OnednnOp {
 public:
  // w: [N, K] row-major, or [K, N] when transposed.
  OnednnFloatMatMul(OpContext& ctx, size_t m, size_t k, size_t n, const float* w, bool transposed, float amin,
                    float amax)
      : OnednnOp("running the oneDNN float32 matmul") {
    auto& engine = onednn::Engine();
    const auto f32 = memory::data_type::f32;
    const auto M = static_cast<memory::dim>(m), K = static_cast<memory::dim>(k), N = static_cast<memory::dim>(n);
    memory::desc src_md({M, K}, f32, memory::format_tag::ab);
    memory::desc dst_md({M, N}, f32, memory::format_tag::ab);
    memory::desc wei_any({K, N}, f32, memory::format_tag::any);
    memory::desc bias_md({1, N}, f32, memory::format_tag::ab);
    dnnl::primitive_attr attr;
    const float inf = std::numeric_limits<float>::infinity();
    if (amin > -inf || amax < inf) {
      dnnl::post_ops ops;
      if (amin == 0 && amax == inf) {
        ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
      } else {
        ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, amin, amax);
      }
      attr.set_post_ops(ops);
    }
    // A user scratchpad owned by the op (see onednn_op.h).
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    const bool has_bias = ctx.has_input(2);
    onednn::Guard("creating the oneDNN float32 matmul", [&] {
      auto desc =
          has_bias ? dnnl::matmul::desc(src_md, wei_any, bias_md, dst_md) : dnnl::matmul::desc(src_md, wei_any, dst_md);
      dnnl::matmul::primitive_desc pd(desc, attr, engine);
      Bind(pd, dnnl::matmul(pd), std::string("onednn:matmul_f32:") + pd.impl_info_str(),
           memory::desc({K, N}, f32, transposed ? memory::format_tag::ab : memory::format_tag::ba), w, ctx.in_ptr(0),
           ctx.out_ptr(0), has_bias ? &bias_md : nullptr, has_bias ? ctx.in_ptr(2) : nullptr);
      return 0;
    });
  }
};

}  // namespace

std::unique_ptr<Op> CreateOnednnFloatMatMul(OpContext& ctx, size_t m, size_t k, size_t n, const float* w,
                                            bool transposed, float amin, float amax) {
  GetBackend("onednn");  // throws ERR_OCTET_BACKEND_UNAVAILABLE when oneDNN cannot run here
  auto op = std::make_unique<OnednnFloatMatMul>(ctx, m, k, n, w, transposed, amin, amax);
  ctx.Packed(1);  // reordered into the primitive's layout (the bias is read in place)
  return op;
}

}  // namespace runtime
}  // namespace octet

#endif  // OCTET_WITH_ONEDNN
