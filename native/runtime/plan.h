// The plan executor: a whole lowered graph, prepared once and run in one call.
//
// A plan is a list of values (tensors with static shapes: constants, graph inputs, activations) and a list of
// nodes in execution order. Plan::Create validates every index, shape and attribute (throwing
// octet::Error("ERR_OCTET_INVALID_PLAN", "node 'x' (Conv): ...") naming the node or value), creates every
// vendor operator and packs its weights, and lays out all non-constant values in one arena with buffer reuse
// by liveness. Plan::Run copies the inputs into the arena, runs the nodes in order and copies the outputs out.
// The contract is documented in docs/plan-format.md and typed in src/runtime/plan.ts.
#pragma once

#include <pthreadpool.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/tensor.h"

namespace octet {
namespace runtime {

// real = (q - zero_point[c]) * scale[c]; one entry (per tensor) or shape[axis] entries (per axis).
struct QuantDesc {
  std::vector<float> scale;
  std::vector<int32_t> zero_point;
  int axis = -1;  // -1: per tensor

  bool per_tensor() const { return scale.size() == 1; }
};

struct ValueDesc {
  std::string name;
  ElemType dtype = ElemType::kFloat32;
  Shape shape;
  bool constant = false;
  std::vector<uint8_t> data;  // constant payload, exactly NumElements(shape) * ElemSize(dtype) bytes
  // Or the payload borrowed from the caller (the addon points at the JS typed array): valid only while
  // Plan::Create runs, which copies it. Avoids holding the weights twice while the plan is built.
  const uint8_t* borrowed = nullptr;
  size_t borrowed_size = 0;
  bool has_quant = false;
  QuantDesc quant;

  const uint8_t* payload() const { return borrowed != nullptr ? borrowed : data.data(); }
  size_t payload_size() const { return borrowed != nullptr ? borrowed_size : data.size(); }
  size_t elements() const { return NumElements(shape); }
  size_t bytes() const { return elements() * ElemSize(dtype); }
  template <typename T>
  const T* as() const {
    return reinterpret_cast<const T*>(payload());
  }
};

struct AttrValue {
  enum class Kind { kNumber, kNumbers, kString } kind = Kind::kNumber;
  double number = 0;
  std::vector<double> numbers;
  std::string str;
};

struct NodeDesc {
  std::string name;
  std::string op;
  std::vector<int> inputs;  // value ids; -1 = absent optional input
  std::vector<int> outputs;
  std::map<std::string, AttrValue> attrs;
  std::string backend;  // '', 'xnnpack', 'onednn' or 'own'
};

struct PlanDesc {
  std::vector<ValueDesc> values;
  std::vector<NodeDesc> nodes;
  std::vector<int> inputs;
  std::vector<int> outputs;
  int threads = 1;
  // Most bytes the activation arena may take; more throws ERR_OCTET_MEMORY_LIMIT before allocating.
  size_t memory_limit = SIZE_MAX;
};

class Op;

class Plan {
 public:
  // [sync] Validates and prepares; throws octet::Error (ERR_OCTET_INVALID_PLAN, ERR_OCTET_XNNPACK, ...).
  static std::unique_ptr<Plan> Create(PlanDesc desc);
  ~Plan();

  // Runs the whole plan. inputs[i] / outputs[i] must hold input_bytes(i) / output_bytes(i) bytes (the caller
  // checks). Calls are serialised. node_times_ns, when given, receives one duration per node.
  void Run(const std::vector<const void*>& inputs, const std::vector<void*>& outputs,
           std::vector<double>* node_times_ns);

  size_t num_inputs() const { return desc_.inputs.size(); }
  size_t num_outputs() const { return desc_.outputs.size(); }
  const ValueDesc& input(size_t i) const { return desc_.values[desc_.inputs[i]]; }
  const ValueDesc& output(size_t i) const { return desc_.values[desc_.outputs[i]]; }
  size_t arena_bytes() const { return arena_bytes_; }
  // Bytes of constants the plan still holds (those only packing ops read are freed once they are packed).
  size_t constant_bytes() const;
  // The kernel each node runs on, e.g. "xnnpack:convolution2d_nhwc_qc8", "onednn:brg:avx512_core_vnni".
  std::vector<std::string> implementations() const;

 private:
  Plan() = default;
  void Validate();
  void LayOut();
  void Build();

  PlanDesc desc_;
  std::vector<size_t> offsets_;  // arena offset of each non-constant value
  size_t arena_bytes_ = 0;
  std::unique_ptr<uint8_t, void (*)(void*)> arena_{nullptr, nullptr};
  std::vector<std::unique_ptr<uint8_t, void (*)(void*)>> constants_;  // padded, aligned copies
  std::vector<int> constant_slot_;                                    // per value: index into constants_, or -1
  std::vector<void*> pointers_;                                       // per value
  pthreadpool_t pool_ = nullptr;
  std::vector<std::unique_ptr<Op>> ops_;
  std::mutex mutex_;
};

}  // namespace runtime
}  // namespace octet
