// Backend registry: maps a name to the process-wide backend instance.
#include "backends/backend.h"

namespace octet {

Backend* GetXnnpackBackend();
#ifdef OCTET_WITH_ONEDNN
Backend* GetOnednnBackend();
#endif

std::vector<std::string> CompiledBackends() {
#ifdef OCTET_WITH_ONEDNN
  return {"xnnpack", "onednn"};
#else
  return {"xnnpack"};
#endif
}

Backend* GetBackend(const std::string& name) {
  if (name == "xnnpack") return GetXnnpackBackend();
#ifdef OCTET_WITH_ONEDNN
  if (name == "onednn") return GetOnednnBackend();
#endif
  return nullptr;
}

}  // namespace octet
