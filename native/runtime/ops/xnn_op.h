// An op backed by one XNNPACK operator that was created and set up once: Run() only runs it.
// Optional pre/post steps handle the uint8 <-> int8 shift (x ^ 0x80) for signed-only kernels.
#pragma once

#include <functional>
#include <string>

#include "backends/xnnpack/xnnpack_backend.h"
#include "runtime/op.h"

namespace octet {
namespace runtime {

class XnnOp final : public Op {
 public:
  XnnOp(std::string impl, xnn_operator_t op, pthreadpool_t pool) : impl_(std::move(impl)), op_(op), pool_(pool) {}
  void Run() override {
    if (pre_) pre_();
    xnnpack::Check(xnn_run_operator(op_.get(), pool_), "xnn_run_operator");
    if (post_) post_();
  }
  std::string implementation() const override { return impl_; }
  xnn_operator_t get() const { return op_.get(); }
  std::function<void()> pre_;
  std::function<void()> post_;

 private:
  std::string impl_;
  xnnpack::OperatorPtr op_;
  pthreadpool_t pool_;
};

// Creates with `create(&op)` (status checked, message names `name`) and wraps the operator.
template <typename Create>
std::unique_ptr<XnnOp> MakeXnnOp(const char* name, pthreadpool_t pool, Create create) {
  xnn_operator_t op = nullptr;
  xnnpack::Check(create(&op), (std::string("xnn_create_") + name).c_str());
  return std::make_unique<XnnOp>(std::string("xnnpack:") + name, op, pool);
}

// Byte-wise x ^ 0x80: maps uint8 q to int8 q - 128 (and back).
inline void FlipSign(const void* in, void* out, size_t n) {
  const uint8_t* a = static_cast<const uint8_t*>(in);
  uint8_t* b = static_cast<uint8_t*>(out);
  for (size_t i = 0; i < n; ++i) b[i] = a[i] ^ 0x80u;
}

// Ensures XNNPACK is initialised (throws ERR_OCTET_BACKEND_UNAVAILABLE otherwise).
void EnsureXnnpack();

}  // namespace runtime
}  // namespace octet
