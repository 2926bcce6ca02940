// backends(): what each compiled-in vendor library detects on this machine.
#include "addon/backends_info.h"

#include "addon/common.h"
#include "backends/backend.h"

namespace octet {

// [sync] Returns [{name, version, isa, features, available, error?}]; never throws for a backend that
// cannot initialise: it is listed with available=false and the reason.
Napi::Value Backends(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OCTET_TRY
  std::vector<std::string> names = CompiledBackends();
  Napi::Array result = Napi::Array::New(env, names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    Napi::Object entry = Napi::Object::New(env);
    entry.Set("name", names[i]);
    try {
      BackendInfo bi = GetBackend(names[i])->Info();
      entry.Set("available", true);
      entry.Set("version", bi.version);
      entry.Set("isa", bi.isa);
      Napi::Array features = Napi::Array::New(env, bi.features.size());
      for (size_t j = 0; j < bi.features.size(); ++j) features.Set(j, bi.features[j]);
      entry.Set("features", features);
    } catch (const Error& e) {
      entry.Set("available", false);
      entry.Set("error", e.what());
    }
    result.Set(i, entry);
  }
  return result;
  OCTET_CATCH(env)
}

}  // namespace octet
