// [async] Runs a prepared kernel on a libuv worker thread. The baton holds only plain C++ state: Execute()
// makes no N-API call. The JS buffers stay referenced (alive, unmoved) until the promise settles.
#pragma once

#include <napi.h>

#include <memory>
#include <string>

#include "backends/backend.h"

namespace octet {

struct KernelRunBaton {
  std::shared_ptr<Kernel> kernel;
  const void* input = nullptr;
  void* output = nullptr;
  size_t batch = 0;
};

class KernelRunWorker final : public Napi::AsyncWorker {
 public:
  KernelRunWorker(Napi::Env env, KernelRunBaton baton, Napi::Object input, Napi::Object output)
      : Napi::AsyncWorker(env, "octet:run"),
        baton_(std::move(baton)),
        deferred_(Napi::Promise::Deferred::New(env)),
        input_(Napi::Persistent(input)),
        output_(Napi::Persistent(output)) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

  void Execute() override {
    try {
      baton_.kernel->Run(baton_.input, baton_.output, baton_.batch);
    } catch (const Error& e) {
      code_ = e.code();
      SetError(e.what());
    } catch (const std::bad_alloc&) {
      code_ = "ERR_OCTET_OUT_OF_MEMORY";
      SetError("out of memory");
    } catch (const std::exception& e) {
      code_ = "ERR_OCTET_NATIVE";
      SetError(e.what());
    }
  }

  void OnOK() override { deferred_.Resolve(Env().Undefined()); }

  void OnError(const Napi::Error& error) override {
    Napi::Error e = error;
    e.Set("code", Napi::String::New(Env(), code_));
    deferred_.Reject(e.Value());
  }

 private:
  KernelRunBaton baton_;
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference input_;
  Napi::ObjectReference output_;
  std::string code_ = "ERR_OCTET_NATIVE";
};

}  // namespace octet
