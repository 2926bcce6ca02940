// [async] The base of octet's workers: Work() runs on a libuv worker thread with plain C++ state only (no N-API
// call), any exception becomes a rejected promise carrying the octet error code, and the JS objects handed in
// stay referenced until the promise settles.
//
// A reference keeps a typed array alive but cannot stop JS from detaching (transferring) its ArrayBuffer, which
// frees or moves the memory: so Work() never touches JS memory. Subclasses copy inputs on the JS thread before
// queueing and write results into their own buffers, copied out in Result(), back on the JS thread.
#pragma once

#include <napi.h>

#include <cstring>
#include <string>
#include <vector>

#include "addon/common.h"
#include "addon/tensor_helper.h"

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
  // Runs on the JS thread after Work() succeeded: the promise's value. May throw octet::Error (rejects).
  virtual Napi::Value Result() { return Env().Undefined(); }
  // The i-th object handed to the constructor.
  Napi::Object Kept(size_t i) { return refs_[i].Value(); }

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

  void OnOK() final {
    Napi::Value value;
    try {
      value = Result();
    } catch (const Error& e) {
      deferred_.Reject(MakeError(Env(), e.code(), e.what()).Value());
      return;
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
      return;
    }
    deferred_.Resolve(value);
  }

  void OnError(const Napi::Error& error) final {
    Napi::Error e = error;
    e.Set("code", Napi::String::New(Env(), code_));
    deferred_.Reject(e.Value());
  }

  Napi::Promise::Deferred deferred_;
  std::vector<Napi::ObjectReference> refs_;
  std::string code_ = "ERR_OCTET_NATIVE";
};

// Copies `bytes` into the typed array `target` on the JS thread, after an async run; throws if JS detached or
// replaced its buffer meanwhile (the run's result is then dropped, not written to freed memory).
inline void CopyToTypedArray(const Napi::Value& target, const std::vector<uint8_t>& bytes, const std::string& what) {
  if (!target.IsTypedArray() || target.As<Napi::TypedArray>().ByteLength() != bytes.size()) {
    throw Error("ERR_OCTET_INVALID_ARGUMENT", what + " was detached or resized while the run was in flight");
  }
  if (!bytes.empty()) std::memcpy(TypedArrayData(target.As<Napi::TypedArray>()), bytes.data(), bytes.size());
}

// Bytes of a typed array, copied on the JS thread.
inline std::vector<uint8_t> CopyTypedArrayBytes(const Napi::TypedArray& array) {
  const uint8_t* p = static_cast<const uint8_t*>(TypedArrayData(array));
  return p == nullptr ? std::vector<uint8_t>() : std::vector<uint8_t>(p, p + array.ByteLength());
}

}  // namespace octet
