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

// Whether oneDNN has an int8 dot product here (AVX-512 VNNI, AVX-VNNI or AMX).
bool HasInt8Dot();

// oneDNN adds an int8 output's zero point in float32 before rounding, round(v + z); XNNPACK rounds first, round(v) + z.
// The float32 sum can lose v's fraction (30.5000057 + 118 is exactly 148.5, then rounded to even: 148, not 149), and
// exact .5 ties round differently for odd z. Where octet runs 7-bit layers on oneDNN in XNNPACK's place (no int8 dot
// product), this appends a round-half-to-even post-op (after the clamp) so that both give the same integers.
void RoundBeforeZeroPoint(dnnl::post_ops& ops, int32_t dst_zero_point);

}  // namespace onednn
}  // namespace octet
