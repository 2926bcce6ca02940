// oneDNN backend: shared engine and error translation for the primitive wrappers in this folder.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include "backends/backend.h"

namespace octet {
namespace onednn {

dnnl::engine& Engine();

// Runs fn(), turning dnnl::error into octet::Error("ERR_OCTET_ONEDNN", "<what>: <oneDNN message>").
template <typename Fn>
auto Guard(const char* what, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const dnnl::error& e) {
    throw Error(e.status == dnnl_out_of_memory ? "ERR_OCTET_OUT_OF_MEMORY" : "ERR_OCTET_ONEDNN",
                std::string(what) + ": " + e.what());
  }
}

// oneDNN's OpenMP runtime takes its thread count from the calling thread.
void SetThreads(int threads);

}  // namespace onednn
}  // namespace octet
