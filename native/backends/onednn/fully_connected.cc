// oneDNN int8 fully-connected as a matmul primitive: src [M, K] (s8 or u8) x weights [K, N] (s8) + s32 bias.
//
// oneDNN 2.x computes dst = post_ops(output_scale[n] * (sum_k (src - src_zp) * wei + bias[n])) + dst_zp,
// rounded to nearest even and saturated; output_scale[n] = x_scale * w_scale[n] / y_scale, and the fused
// clamp is a clip post-op shifted by -dst_zp (without VNNI followed by a rounding post-op, see
// onednn::RoundBeforeZeroPoint). Primitives are specialised for the batch size (M) and cached,
// with the weights reordered once into the layout each one asks for.
#include <algorithm>
#include <map>
#include <mutex>

#include "backends/onednn/onednn_backend.h"

namespace octet {
namespace {

using dnnl::memory;

class OnednnFullyConnected final : public Kernel {
 public:
  explicit OnednnFullyConnected(const FullyConnectedParams& p)
      : k_(static_cast<memory::dim>(p.input_channels)),
        n_(static_cast<memory::dim>(p.output_channels)),
        src_type_(p.dtype == DType::kInt8 ? memory::data_type::s8 : memory::data_type::u8),
        threads_(p.threads),
        weights_(p.weights),
        bias_(p.bias) {
    std::vector<float> scales(p.weight_scales.size());
    for (size_t i = 0; i < scales.size(); ++i) scales[i] = p.input_scale * p.weight_scales[i] / p.output_scale;
    attr_.set_output_scales(p.per_channel() ? (1 << 1) : 0, scales);
    // The scratchpad is ours, not oneDNN's library-managed one, which has crashed on libuv worker threads.
    attr_.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    if (p.input_zero_point != 0) attr_.set_zero_points(DNNL_ARG_SRC, 0, {p.input_zero_point});
    if (p.output_zero_point != 0) attr_.set_zero_points(DNNL_ARG_DST, 0, {p.output_zero_point});
    dnnl::post_ops ops;
    if (p.output_min > DTypeMin(p.dtype) || p.output_max < DTypeMax(p.dtype)) {
      ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, static_cast<float>(p.output_min - p.output_zero_point),
                         static_cast<float>(p.output_max - p.output_zero_point));
    }
    onednn::RoundBeforeZeroPoint(ops, p.output_zero_point);
    if (ops.len() > 0) attr_.set_post_ops(ops);
    // Create the batch-1 primitive now so bad parameters fail at creation, not at the first run.
    onednn::Guard("creating the oneDNN int8 matmul", [&] { return &PrimitiveFor(1); });
  }

  void Run(const void* input, void* output, size_t batch) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (batch == 0) return;
    onednn::Guard("running the oneDNN int8 matmul", [&] {
      Prepared& prepared = PrimitiveFor(static_cast<memory::dim>(batch));
      auto& engine = onednn::Engine();
      memory src(prepared.pd.src_desc(), engine, const_cast<void*>(input));
      memory dst(prepared.pd.dst_desc(), engine, output);
      onednn::SetThreads(threads_);
      dnnl::stream stream(engine);
      std::unordered_map<int, memory> args{
          {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, prepared.weights}, {DNNL_ARG_DST, dst}};
      if (!bias_.empty()) args.emplace(DNNL_ARG_BIAS, prepared.bias);
      args.emplace(DNNL_ARG_SCRATCHPAD, prepared.scratchpad);
      prepared.primitive.execute(stream, args);
      stream.wait();
      return 0;
    });
  }

  const char* implementation() const override { return implementation_.c_str(); }

 private:
  struct Prepared {
    dnnl::matmul::primitive_desc pd;
    dnnl::matmul primitive;
    memory weights;
    memory bias;
    memory scratchpad;
  };

  Prepared& PrimitiveFor(memory::dim m) {
    auto it = cache_.find(m);
    if (it != cache_.end()) return it->second;
    if (cache_.size() >= kMaxCachedBatchSizes) cache_.erase(std::prev(cache_.end()));
    auto& engine = onednn::Engine();
    memory::desc src_md({m, k_}, src_type_, memory::format_tag::ab);
    memory::desc wei_any({k_, n_}, memory::data_type::s8, memory::format_tag::any);
    memory::desc bias_md({1, n_}, memory::data_type::s32, memory::format_tag::ab);
    memory::desc dst_md({m, n_}, src_type_, memory::format_tag::ab);
    dnnl::matmul::desc desc = bias_.empty() ? dnnl::matmul::desc(src_md, wei_any, dst_md)
                                            : dnnl::matmul::desc(src_md, wei_any, bias_md, dst_md);
    dnnl::matmul::primitive_desc pd(desc, attr_, engine);
    implementation_ = std::string("onednn:") + pd.impl_info_str();

    // Weights arrive as [N, K] row-major, which is [K, N] with strides (1, K): format "ba".
    memory::desc wei_plain({k_, n_}, memory::data_type::s8, memory::format_tag::ba);
    memory plain(wei_plain, engine, weights_.data());
    memory packed(pd.weights_desc(), engine);
    dnnl::stream stream(engine);
    dnnl::reorder(plain, packed).execute(stream, plain, packed);
    stream.wait();
    memory bias;
    if (!bias_.empty()) bias = memory(bias_md, engine, bias_.data());
    memory scratchpad(pd.scratchpad_desc(), engine);
    auto inserted = cache_.emplace(m, Prepared{pd, dnnl::matmul(pd), packed, bias, scratchpad});
    return inserted.first->second;
  }

  static constexpr size_t kMaxCachedBatchSizes = 8;

  memory::dim k_;
  memory::dim n_;
  memory::data_type src_type_;
  int threads_;
  std::vector<int8_t> weights_;
  std::vector<int32_t> bias_;
  dnnl::primitive_attr attr_;
  std::map<memory::dim, Prepared> cache_;
  std::string implementation_;
  std::mutex mutex_;
};

}  // namespace

std::unique_ptr<Kernel> CreateOnednnFullyConnected(const FullyConnectedParams& params) {
  return std::make_unique<OnednnFullyConnected>(params);
}

}  // namespace octet
