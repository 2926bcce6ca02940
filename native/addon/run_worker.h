// [async] Runs a prepared kernel on a libuv worker thread (see PromiseWorker).
#pragma once

#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "addon/promise_worker.h"
#include "backends/backend.h"

namespace octet {

struct KernelRunBaton {
  std::shared_ptr<Kernel> kernel;
  const void* input = nullptr;  // runSync: the JS array's data
  void* output = nullptr;
  size_t batch = 0;
};

// The input is copied here, on the JS thread; the output is written to an own buffer and copied into the JS
// array when the run completes (see PromiseWorker on detached buffers).
class KernelRunWorker final : public PromiseWorker {
 public:
  KernelRunWorker(Napi::Env env, KernelRunBaton baton, Napi::TypedArray input, Napi::TypedArray output)
      : PromiseWorker(env, "octet:run", {input, output}),
        baton_(std::move(baton)),
        input_(CopyTypedArrayBytes(input)),
        output_(output.ByteLength()) {}

 private:
  void Work() override { baton_.kernel->Run(input_.data(), output_.data(), baton_.batch); }
  Napi::Value Result() override {
    CopyToTypedArray(Kept(1), output_, "the output array");
    return Env().Undefined();
  }

  KernelRunBaton baton_;
  std::vector<uint8_t> input_;
  std::vector<uint8_t> output_;
};

}  // namespace octet
