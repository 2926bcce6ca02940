// Base of the ops that run one oneDNN primitive (convolutions, matmul): the primitive is bound once to the plan's
// buffers, its weights reordered once into the layout it asks for, with a user scratchpad owned by the op (the
// library-managed one is per thread, and runs happen on a libuv worker thread, not on the creating thread).
#pragma once

#ifdef OCTET_WITH_ONEDNN

#include <string>
#include <unordered_map>
#include <utility>

#include "backends/onednn/onednn_backend.h"
#include "runtime/op.h"

namespace octet {
namespace runtime {

class OnednnOp : public Op {
 public:
  void Run() override {
    onednn::Guard(running_, [&] {
      dnnl::stream stream(onednn::Engine());
      primitive_.execute(stream, args_);
      stream.wait();
      return 0;
    });
  }

  std::string implementation() const override { return impl_; }

 protected:
  explicit OnednnOp(const char* running) : running_(running) {}

  // Takes the primitive made from `pd`, reorders the weights (plain layout `plain_md` at `weights`) into the
  // primitive's, and binds src, weights, dst, the scratchpad and the bias (when bias_md is given). Call inside
  // onednn::Guard; subclasses may add arguments (zero points) to args_ afterwards.
  template <typename PrimitiveDesc>
  void Bind(const PrimitiveDesc& pd, dnnl::primitive primitive, std::string impl, const dnnl::memory::desc& plain_md,
            const void* weights, const void* src, void* dst, const dnnl::memory::desc* bias_md, const void* bias) {
    auto& engine = onednn::Engine();
    impl_ = std::move(impl);
    primitive_ = std::move(primitive);
    dnnl::memory plain(plain_md, engine, const_cast<void*>(weights));
    weights_ = dnnl::memory(pd.weights_desc(), engine);
    dnnl::stream stream(engine);
    dnnl::reorder(plain, weights_).execute(stream, plain, weights_);
    stream.wait();
    args_ = {{DNNL_ARG_SRC, dnnl::memory(pd.src_desc(), engine, const_cast<void*>(src))},
             {DNNL_ARG_WEIGHTS, weights_},
             {DNNL_ARG_DST, dnnl::memory(pd.dst_desc(), engine, dst)}};
    scratchpad_ = dnnl::memory(pd.scratchpad_desc(), engine);
    args_.emplace(DNNL_ARG_SCRATCHPAD, scratchpad_);
    if (bias_md != nullptr) args_.emplace(DNNL_ARG_BIAS, dnnl::memory(*bias_md, engine, const_cast<void*>(bias)));
  }

  std::unordered_map<int, dnnl::memory> args_;

 private:
  const char* running_;
  std::string impl_;
  dnnl::primitive primitive_;
  dnnl::memory weights_;
  dnnl::memory scratchpad_;
};

}  // namespace runtime
}  // namespace octet

#endif  // OCTET_WITH_ONEDNN
