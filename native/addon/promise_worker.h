// [async] The base of octet's workers: Work() runs on a libuv worker thread with plain C++ state only (no N-API
// call), any exception becomes a rejected promise carrying the octet error code, and the JS objects handed in
// (buffers) stay referenced, alive and unmoved, until the promise settles.
#pragma once

#include <napi.h>

#include <string>
#include <vector>

#include "backends/backend.h"

namespace octet {

class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, const char* name, std::vector<Napi::Object> keep_alive)
      : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)) {
    for (auto& o : keep_alive) refs_.push_back(Napi::Persistent(o));
  }

  // Queues the work and returns its promise. The worker deletes itself when it settles.
  Napi::Promise Start() {
    Napi::Promise promise = deferred_.Promise();
    Queue();
    return promise;
  }

 protected:
  // Runs on the worker thread.
  virtual void Work() = 0;
  // Runs on the JS thread after Work() succeeded: the promise's value.
  virtual Napi::Value Result() { return Env().Undefined(); }

 private:
  void Execute() final {
    try {
      Work();
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

  void OnOK() final { deferred_.Resolve(Result()); }

  void OnError(const Napi::Error& error) final {
    Napi::Error e = error;
    e.Set("code", Napi::String::New(Env(), code_));
    deferred_.Reject(e.Value());
  }

  Napi::Promise::Deferred deferred_;
  std::vector<Napi::ObjectReference> refs_;
  std::string code_ = "ERR_OCTET_NATIVE";
};

}  // namespace octet
