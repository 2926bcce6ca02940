// XNNPACK int8 fully-connected.
//
// Per-tensor weights use xnn_*_fully_connected_nc_qs8. XNNPACK (2022) has no per-channel fully-connected,
// so per-channel weights use xnn_*_convolution2d_nhwc_qc8 with a 1x1 kernel over a 1 x batch "image":
// the same GEMM, with one requantization scale per output channel.
// uint8 activations run on the signed kernels: x_u8 - z = (x_u8 ^ 0x80) - (z - 128), exactly.
#include <algorithm>
#include <cstring>

#include "backends/xnnpack/xnnpack_backend.h"

namespace octet {
namespace {

class XnnpackFullyConnected final : public Kernel {
 public:
  explicit XnnpackFullyConnected(const FullyConnectedParams& p)
      : input_channels_(p.input_channels),
        output_channels_(p.output_channels),
        uint8_(p.dtype == DType::kUint8),
        pool_(xnnpack::CreateThreadPool(p.threads)) {
    const int32_t shift = uint8_ ? 128 : 0;
    const int8_t x_zp = static_cast<int8_t>(p.input_zero_point - shift);
    const int8_t y_zp = static_cast<int8_t>(p.output_zero_point - shift);
    const int8_t y_min = static_cast<int8_t>(p.output_min - shift);
    const int8_t y_max = static_cast<int8_t>(p.output_max - shift);
    const int32_t* bias = p.bias.empty() ? nullptr : p.bias.data();
    xnn_operator_t op = nullptr;
    if (p.per_channel()) {
      xnnpack::Check(xnn_create_convolution2d_nhwc_qc8(0, 0, 0, 0, 1, 1, 1, 1, 1, 1, /*groups=*/1, input_channels_,
                                                       output_channels_, input_channels_, output_channels_, x_zp,
                                                       p.input_scale, p.weight_scales.data(), p.weights.data(), bias,
                                                       y_zp, p.output_scale, y_min, y_max, 0, &op),
                     "xnn_create_convolution2d_nhwc_qc8");
      implementation_ = "xnnpack:convolution2d_nhwc_qc8(1x1)";
      per_channel_ = true;
    } else {
      xnnpack::Check(xnn_create_fully_connected_nc_qs8(
                         input_channels_, output_channels_, input_channels_, output_channels_, x_zp, p.input_scale,
                         p.weight_scales[0], p.weights.data(), bias, y_zp, p.output_scale, y_min, y_max, 0, &op),
                     "xnn_create_fully_connected_nc_qs8");
      implementation_ = "xnnpack:fully_connected_nc_qs8";
    }
    op_.reset(op);
  }

  void Run(const void* input, void* output, size_t batch) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (batch == 0) return;
    // XNNPACK's microkernels may read up to XNN_EXTRA_BYTES past the end of the input: never point them at a
    // caller's buffer, which can end at a page boundary. The copy also applies the uint8 -> int8 shift.
    const size_t count = batch * input_channels_;
    scratch_.resize(count + XNN_EXTRA_BYTES);
    if (uint8_) {
      const uint8_t* xu = static_cast<const uint8_t*>(input);
      for (size_t i = 0; i < count; ++i) scratch_[i] = static_cast<int8_t>(xu[i] ^ 0x80u);
    } else {
      std::memcpy(scratch_.data(), input, count);
    }
    const int8_t* x = scratch_.data();
    int8_t* y = static_cast<int8_t*>(output);
    if (per_channel_) {
      xnnpack::Check(xnn_setup_convolution2d_nhwc_qc8(op_.get(), 1, 1, batch, x, y, pool_.get()),
                     "xnn_setup_convolution2d_nhwc_qc8");
    } else {
      xnnpack::Check(xnn_setup_fully_connected_nc_qs8(op_.get(), batch, x, y, pool_.get()),
                     "xnn_setup_fully_connected_nc_qs8");
    }
    xnnpack::Check(xnn_run_operator(op_.get(), pool_.get()), "xnn_run_operator");
    if (uint8_) {
      uint8_t* yu = static_cast<uint8_t*>(output);
      const size_t n = batch * output_channels_;
      for (size_t i = 0; i < n; ++i) yu[i] ^= 0x80u;
    }
  }

  const char* implementation() const override { return implementation_; }

 private:
  size_t input_channels_;
  size_t output_channels_;
  bool uint8_;
  bool per_channel_ = false;
  const char* implementation_ = "";
  xnnpack::ThreadPoolPtr pool_;
  xnnpack::OperatorPtr op_;
  std::vector<int8_t> scratch_;
  std::mutex mutex_;
};

}  // namespace

std::unique_ptr<Kernel> CreateXnnpackFullyConnected(const FullyConnectedParams& params) {
  return std::make_unique<XnnpackFullyConnected>(params);
}

}  // namespace octet
