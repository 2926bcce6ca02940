// XNNPACK backend: initialisation, capability report and status handling.
#include "backends/xnnpack/xnnpack_backend.h"

#include <cpuinfo.h>

namespace octet {

std::unique_ptr<Kernel> CreateXnnpackFullyConnected(const FullyConnectedParams& params);

namespace xnnpack {

const char* StatusName(xnn_status status) {
  switch (status) {
    case xnn_status_success: return "xnn_status_success";
    case xnn_status_uninitialized: return "xnn_status_uninitialized";
    case xnn_status_invalid_parameter: return "xnn_status_invalid_parameter";
    case xnn_status_invalid_state: return "xnn_status_invalid_state";
    case xnn_status_unsupported_parameter: return "xnn_status_unsupported_parameter";
    case xnn_status_unsupported_hardware: return "xnn_status_unsupported_hardware";
    case xnn_status_out_of_memory: return "xnn_status_out_of_memory";
  }
  return "xnn_status_unknown";
}

void Check(xnn_status status, const char* call) {
  if (status == xnn_status_success) return;
  std::string message = std::string(call) + " failed: " + StatusName(status);
  if (status == xnn_status_unsupported_parameter) {
    message +=
        " (XNNPACK rejects e.g. a requantization scale input_scale*weight_scale/output_scale outside [2^-32, 256))";
  } else if (status == xnn_status_unsupported_hardware) {
    message += " (this CPU lacks the instructions XNNPACK needs: SSE2 on x86, NEON on arm)";
  }
  throw Error(status == xnn_status_out_of_memory ? "ERR_OCTET_OUT_OF_MEMORY" : "ERR_OCTET_XNNPACK", message);
}

ThreadPoolPtr CreateThreadPool(int threads) {
  if (threads <= 1) return ThreadPoolPtr(nullptr);
  pthreadpool_t pool = pthreadpool_create(static_cast<size_t>(threads));
  if (pool == nullptr) throw Error("ERR_OCTET_OUT_OF_MEMORY", "pthreadpool_create failed");
  return ThreadPoolPtr(pool);
}

namespace {

std::vector<std::string> DetectFeatures() {
  std::vector<std::string> f;
  if (!cpuinfo_initialize()) return f;
#if CPUINFO_ARCH_X86 || CPUINFO_ARCH_X86_64
  if (cpuinfo_has_x86_sse4_1()) f.push_back("sse4.1");
  if (cpuinfo_has_x86_avx()) f.push_back("avx");
  if (cpuinfo_has_x86_avx2()) f.push_back("avx2");
  if (cpuinfo_has_x86_fma3()) f.push_back("fma3");
  if (cpuinfo_has_x86_avx512f()) f.push_back("avx512f");
  if (cpuinfo_has_x86_avx512bw()) f.push_back("avx512bw");
  if (cpuinfo_has_x86_avx512vnni()) f.push_back("avx512vnni");
#elif CPUINFO_ARCH_ARM || CPUINFO_ARCH_ARM64
  if (cpuinfo_has_arm_neon()) f.push_back("neon");
  if (cpuinfo_has_arm_neon_fp16_arith()) f.push_back("fp16arith");
  if (cpuinfo_has_arm_neon_dot()) f.push_back("dotprod");
#endif
  return f;
}

// What XNNPACK's int8 microkernels use on this CPU (the 2022 Debian build has no VNNI kernels).
std::string KernelIsa(const std::vector<std::string>& features) {
  auto has = [&](const char* name) {
    for (const auto& s : features)
      if (s == name) return true;
    return false;
  };
#if CPUINFO_ARCH_X86 || CPUINFO_ARCH_X86_64
  if (has("avx512bw")) return "avx512skx";
  if (has("avx2")) return "avx2";
  if (has("avx")) return "avx";
  if (has("sse4.1")) return "sse4.1";
  return "sse2";
#else
  if (has("dotprod")) return "neondot";
  if (has("neon")) return "neon";
  return "scalar";
#endif
}

class XnnpackBackend final : public Backend {
 public:
  XnnpackBackend() {
    Check(xnn_initialize(nullptr), "xnn_initialize");
    features_ = DetectFeatures();
  }

  BackendInfo Info() const override {
    return BackendInfo{"xnnpack", "0.0~git20220216", KernelIsa(features_), features_};
  }

  std::unique_ptr<Kernel> CreateFullyConnected(const FullyConnectedParams& params) override {
    return CreateXnnpackFullyConnected(params);
  }

 private:
  std::vector<std::string> features_;
};

}  // namespace
}  // namespace xnnpack

Backend* GetXnnpackBackend() {
  return SingletonBackend<xnnpack::XnnpackBackend>("XNNPACK");
}

}  // namespace octet
