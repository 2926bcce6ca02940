// oneDNN backend: engine, capability report (dnnl_get_effective_cpu_isa) and threading.
#include "backends/onednn/onednn_backend.h"

#include <omp.h>

namespace octet {

std::unique_ptr<Kernel> CreateOnednnFullyConnected(const FullyConnectedParams& params);

namespace onednn {

dnnl::engine& Engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

void SetThreads(int threads) {
  omp_set_num_threads(threads < 1 ? 1 : threads);
}

bool HasInt8Dot() {
  const auto effective = static_cast<unsigned>(dnnl_get_effective_cpu_isa());
  for (const auto isa : {dnnl_cpu_isa_avx2_vnni, dnnl_cpu_isa_avx512_core_vnni}) {
    const auto bits = static_cast<unsigned>(isa);
    if ((bits & effective) == bits) return true;
  }
  return false;
}

void RoundBeforeZeroPoint(dnnl::post_ops& ops, int32_t dst_zero_point) {
  if (dst_zero_point != 0 && !HasInt8Dot()) ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_round, 0.0f, 0.0f);
}

namespace {

struct IsaName {
  dnnl_cpu_isa_t isa;
  const char* name;
};

// Ordered from least to most capable; an ISA is "available" when its bits are a subset of the effective one.
constexpr IsaName kIsas[] = {
    {dnnl_cpu_isa_sse41, "sse41"},
    {dnnl_cpu_isa_avx, "avx"},
    {dnnl_cpu_isa_avx2, "avx2"},
    {dnnl_cpu_isa_avx2_vnni, "avx2_vnni"},
    {dnnl_cpu_isa_avx512_core, "avx512_core"},
    {dnnl_cpu_isa_avx512_core_vnni, "avx512_core_vnni"},
    {dnnl_cpu_isa_avx512_core_bf16, "avx512_core_bf16"},
    {dnnl_cpu_isa_avx512_core_amx, "avx512_core_amx"},
};

class OnednnBackend final : public Backend {
 public:
  OnednnBackend() {
    Guard("creating the oneDNN CPU engine", [] { return Engine(); });
    const auto effective = static_cast<unsigned>(dnnl_get_effective_cpu_isa());
    isa_ = "all";
    for (const auto& entry : kIsas) {
      const auto bits = static_cast<unsigned>(entry.isa);
      if ((bits & effective) == bits && effective != 0) {
        features_.push_back(entry.name);
        // bf16 adds nothing to int8 kernels: report the ISA the int8 primitives dispatch to.
        if (entry.isa != dnnl_cpu_isa_avx512_core_bf16) isa_ = entry.name;
      }
    }
    if (effective == dnnl_cpu_isa_all) {
      // "all" means no restriction was set: report the best ISA the CPU offers.
      if (features_.empty()) isa_ = "sse41";
    }
    const dnnl_version_t* v = dnnl_version();
    version_ = std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
  }

  BackendInfo Info() const override { return BackendInfo{"onednn", version_, isa_, features_}; }

  std::unique_ptr<Kernel> CreateFullyConnected(const FullyConnectedParams& params) override {
    return CreateOnednnFullyConnected(params);
  }

 private:
  std::string isa_;
  std::string version_;
  std::vector<std::string> features_;
};

}  // namespace
}  // namespace onednn

Backend* GetOnednnBackend() {
  return SingletonBackend<onednn::OnednnBackend>("oneDNN");
}

}  // namespace octet
