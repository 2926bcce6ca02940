// FullyConnected: the JS class over one prepared int8 fully-connected kernel of a chosen backend.
//
//   new FullyConnected(backend: string, params: object)   [sync]  creates the vendor operator, packs weights;
//                                                                 throws on bad params or vendor refusal
//   run(input, output, batch): Promise<void>              [async] on a worker thread
//   runSync(input, output, batch): void                   [sync]
//   release(): void                                       [sync]  frees the operator; later runs throw
//   implementation: string                                        the vendor kernel that was picked
#pragma once

#include <napi.h>

#include <memory>

#include "backends/backend.h"

namespace octet {

class FullyConnectedWrap final : public Napi::ObjectWrap<FullyConnectedWrap> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit FullyConnectedWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value Run(const Napi::CallbackInfo& info);
  Napi::Value RunSync(const Napi::CallbackInfo& info);
  Napi::Value Release(const Napi::CallbackInfo& info);
  Napi::Value Implementation(const Napi::CallbackInfo& info);

  // Validates (input, output, batch) against the kernel's shape; fills the baton.
  struct RunArgs;
  RunArgs ParseRunArgs(const Napi::CallbackInfo& info);

  std::shared_ptr<Kernel> kernel_;
  size_t input_channels_ = 0;
  size_t output_channels_ = 0;
  DType dtype_ = DType::kInt8;
};

}  // namespace octet
