// [async] Runs a prepared kernel on a libuv worker thread (see PromiseWorker).
#pragma once

#include <napi.h>

#include <memory>
#include <string>

#include "addon/promise_worker.h"
#include "backends/backend.h"

namespace octet {

struct KernelRunBaton {
  std::shared_ptr<Kernel> kernel;
  const void* input = nullptr;
  void* output = nullptr;
  size_t batch = 0;
};

class KernelRunWorker final : public PromiseWorker {
 public:
  KernelRunWorker(Napi::Env env, KernelRunBaton baton, Napi::Object input, Napi::Object output)
      : PromiseWorker(env, "octet:run", {input, output}), baton_(std::move(baton)) {}

 private:
  void Work() override { baton_.kernel->Run(baton_.input, baton_.output, baton_.batch); }

  KernelRunBaton baton_;
};

}  // namespace octet
