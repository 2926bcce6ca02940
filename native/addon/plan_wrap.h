// Plan: the JS class over one prepared plan (a whole lowered graph; see docs/plan-format.md).
//
//   new Plan(plan: object)                          [sync]  validates every value, node and attribute, creates
//                                                           the vendor operators and packs weights once; throws
//                                                           ERR_OCTET_INVALID_PLAN naming the node or value
//   run(inputs, outputs, profile?): Promise         [async] the whole plan on a worker thread; resolves to
//                                                           undefined, or per-node nanoseconds (Float64Array)
//                                                           when profile is true; concurrent runs are serialised
//   runSync(inputs, outputs, profile?)              [sync]  the same on the calling thread
//   release(): void                                 [sync]  frees the plan; an in-flight run keeps it alive
//   implementations: string[] | null                        the kernel each node runs on
//   arenaBytes: number                                      activation memory after buffer reuse
#pragma once

#include <napi.h>

#include <memory>

#include "runtime/plan.h"

namespace octet {

class PlanWrap final : public Napi::ObjectWrap<PlanWrap> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit PlanWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value Run(const Napi::CallbackInfo& info);
  Napi::Value RunSync(const Napi::CallbackInfo& info);
  Napi::Value Release(const Napi::CallbackInfo& info);
  Napi::Value Implementations(const Napi::CallbackInfo& info);
  Napi::Value ArenaBytes(const Napi::CallbackInfo& info);
  Napi::Value ConstantBytes(const Napi::CallbackInfo& info);

  struct RunArgs;
  RunArgs ParseRunArgs(const Napi::CallbackInfo& info);

  std::shared_ptr<runtime::Plan> plan_;
};

}  // namespace octet
