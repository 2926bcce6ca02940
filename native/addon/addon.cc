// Module registration only: each entry point lives in its own file.
#include <napi.h>

#include "addon/backends_info.h"
#include "addon/fully_connected_wrap.h"
#include "addon/plan_wrap.h"

namespace octet {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("backends", Napi::Function::New(env, Backends, "backends"));
  exports.Set("napiVersion", Napi::Number::New(env, NAPI_VERSION));
  FullyConnectedWrap::Init(env, exports);
  PlanWrap::Init(env, exports);
  return exports;
}

}  // namespace octet

static Napi::Object InitOctet(Napi::Env env, Napi::Object exports) {
  return octet::Init(env, exports);
}

NODE_API_MODULE(octet, InitOctet)
