#include "runtime/plan.h"

#include <xnnpack.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "runtime/op.h"
#ifdef OCTET_WITH_ONEDNN
#include "backends/onednn/onednn_backend.h"
#endif

namespace octet {
namespace runtime {

namespace {

constexpr size_t kAlignment = 64;
// Activation memory a plan may lay out: far above any machine, far below size_t overflow (offset + size).
constexpr size_t kMaxArenaBytes = size_t{1} << 44;
// XNNPACK kernels may read (never write) up to XNN_EXTRA_BYTES past the end of an input.
constexpr size_t kPadding = XNN_EXTRA_BYTES;

size_t AlignUp(size_t n) {
  return (n + kAlignment - 1) / kAlignment * kAlignment;
}

std::unique_ptr<uint8_t, void (*)(void*)> AlignedAlloc(size_t bytes) {
  void* p = std::aligned_alloc(kAlignment, AlignUp(std::max<size_t>(bytes, 1)));
  if (p == nullptr) throw std::bad_alloc();
  return {static_cast<uint8_t*>(p), std::free};
}

Error PlanError(const std::string& message) {
  return Error("ERR_OCTET_INVALID_PLAN", message);
}

std::string ValueName(const PlanDesc& d, int id) {
  return "value " + std::to_string(id) + " '" + d.values[id].name + "'";
}

}  // namespace

std::unique_ptr<Plan> Plan::Create(PlanDesc desc) {
  std::unique_ptr<Plan> plan(new Plan());
  plan->desc_ = std::move(desc);
  plan->Validate();
  plan->LayOut();
  plan->Build();
  return plan;
}

Plan::~Plan() {
  ops_.clear();  // vendor operators first: they may reference the pool
  if (pool_ != nullptr) pthreadpool_destroy(pool_);
}

void Plan::Validate() {
  const PlanDesc& d = desc_;
  const int n = static_cast<int>(d.values.size());
  if (d.threads < 1 || d.threads > 1024) throw PlanError("threads must be an integer in [1, 1024]");
  for (int id = 0; id < n; ++id) {
    const ValueDesc& v = d.values[id];
    if (v.shape.size() > 8) throw PlanError(ValueName(d, id) + ": rank " + std::to_string(v.shape.size()) + " > 8");
    // The product of the non-zero dims is bounded too: strides of an empty tensor must not overflow either.
    int64_t count = 1;
    for (int64_t dim : v.shape) {
      if (dim < 0) throw PlanError(ValueName(d, id) + ": negative dimension in shape " + ShapeString(v.shape));
      if (dim != 0 && count > kMaxElements / dim) {
        throw PlanError(ValueName(d, id) + ": shape " + ShapeString(v.shape) + " has more than 2^40 elements");
      }
      if (dim != 0) count *= dim;
    }
    if (v.constant && v.payload_size() != v.bytes()) {
      throw PlanError(ValueName(d, id) + ": data has " + std::to_string(v.payload_size()) + " bytes but " +
                      ElemTypeName(v.dtype) + " " + ShapeString(v.shape) + " needs " + std::to_string(v.bytes()));
    }
    if (v.has_quant) {
      const QuantDesc& q = v.quant;
      if (!IsQuantized8(v.dtype) && v.dtype != ElemType::kInt32) {
        throw PlanError(ValueName(d, id) + ": quant is only allowed on int8, uint8 and int32 values");
      }
      if (q.scale.empty() || q.scale.size() != q.zero_point.size()) {
        throw PlanError(ValueName(d, id) + ": quant.scale and quant.zeroPoint must have the same non-zero length");
      }
      if (q.axis >= 0) {
        if (static_cast<size_t>(q.axis) >= v.shape.size()) {
          throw PlanError(ValueName(d, id) + ": quant.axis " + std::to_string(q.axis) + " is out of range");
        }
        if (q.scale.size() != static_cast<size_t>(v.shape[q.axis])) {
          throw PlanError(ValueName(d, id) + ": quant.scale has " + std::to_string(q.scale.size()) +
                          " entries but shape[" + std::to_string(q.axis) + "] = " + std::to_string(v.shape[q.axis]));
        }
      } else if (q.scale.size() != 1) {
        throw PlanError(ValueName(d, id) + ": per-tensor quant needs exactly one scale (or set quant.axis)");
      }
      for (float s : q.scale) {
        if (!(s > 0) || !std::isfinite(s))
          throw PlanError(ValueName(d, id) + ": quant.scale must be positive and finite");
      }
      if (IsQuantized8(v.dtype)) {
        for (int32_t z : q.zero_point) {
          if (z < QMin(v.dtype) || z > QMax(v.dtype)) {
            throw PlanError(ValueName(d, id) + ": quant.zeroPoint " + std::to_string(z) + " is outside " +
                            ElemTypeName(v.dtype));
          }
        }
      }
    }
  }

  // Producers: each non-constant value is a graph input or the output of exactly one earlier node.
  std::vector<int> producer(n, -2);  // -2: none, -1: graph input, k: node k
  for (size_t i = 0; i < d.inputs.size(); ++i) {
    const int id = d.inputs[i];
    if (id < 0 || id >= n)
      throw PlanError("plan input " + std::to_string(i) + ": value id " + std::to_string(id) + " is out of range");
    if (d.values[id].constant)
      throw PlanError("plan input " + std::to_string(i) + ": " + ValueName(d, id) + " is a constant");
    if (producer[id] != -2)
      throw PlanError("plan input " + std::to_string(i) + ": " + ValueName(d, id) + " is listed twice");
    producer[id] = -1;
  }
  for (size_t k = 0; k < d.nodes.size(); ++k) {
    const NodeDesc& node = d.nodes[k];
    const std::string where = "node '" + node.name + "' (" + node.op + ")";
    if (FindOpFactory(node.op) == nullptr) throw PlanError(where + ": unknown op '" + node.op + "'");
    if (!node.backend.empty() && node.backend != "xnnpack" && node.backend != "onednn" && node.backend != "own") {
      throw PlanError(where + ": unknown backend '" + node.backend + "'");
    }
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const int id = node.inputs[i];
      if (id == -1) continue;
      if (id < -1 || id >= n)
        throw PlanError(where + ": input " + std::to_string(i) + " value id " + std::to_string(id) +
                        " is out of range");
      if (!d.values[id].constant && producer[id] == -2) {
        throw PlanError(where + ": input " + std::to_string(i) + " " + ValueName(d, id) +
                        " is used before it is produced (nodes must be in execution order)");
      }
    }
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      const int id = node.outputs[i];
      if (id < 0 || id >= n)
        throw PlanError(where + ": output " + std::to_string(i) + " value id " + std::to_string(id) +
                        " is out of range");
      if (d.values[id].constant) throw PlanError(where + ": output " + ValueName(d, id) + " is a constant");
      if (producer[id] != -2) throw PlanError(where + ": output " + ValueName(d, id) + " is already produced");
      producer[id] = static_cast<int>(k);
    }
  }
  for (size_t i = 0; i < d.outputs.size(); ++i) {
    const int id = d.outputs[i];
    if (id < 0 || id >= n)
      throw PlanError("plan output " + std::to_string(i) + ": value id " + std::to_string(id) + " is out of range");
    if (!d.values[id].constant && producer[id] == -2) {
      throw PlanError("plan output " + std::to_string(i) + ": " + ValueName(d, id) + " is never produced");
    }
  }
}

void Plan::LayOut() {
  const PlanDesc& d = desc_;
  const size_t n = d.values.size();
  const int end = static_cast<int>(d.nodes.size());
  std::vector<int> first(n, std::numeric_limits<int>::max()), last(n, -1);
  for (int id : d.inputs) first[id] = last[id] = -1;
  for (int k = 0; k < end; ++k) {
    for (int id : d.nodes[k].inputs) {
      if (id >= 0) last[id] = std::max(last[id], k);
    }
    for (int id : d.nodes[k].outputs) {
      first[id] = k;
      last[id] = std::max(last[id], k);
    }
  }
  for (int id : d.outputs) last[id] = end;

  // Greedy best-fit by decreasing size: each buffer takes the lowest offset free during its whole lifetime.
  std::vector<size_t> order;
  for (size_t id = 0; id < n; ++id) {
    if (!d.values[id].constant && last[id] >= -1 && first[id] != std::numeric_limits<int>::max()) order.push_back(id);
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return d.values[a].bytes() > d.values[b].bytes(); });
  offsets_.assign(n, 0);
  std::vector<size_t> placed;
  arena_bytes_ = 0;
  for (size_t id : order) {
    // bytes() <= 2^43 (Validate), so size cannot overflow; the arena total is checked against kMaxArenaBytes.
    const size_t size = AlignUp(d.values[id].bytes() + kPadding);
    std::vector<std::pair<size_t, size_t>> busy;
    for (size_t other : placed) {
      if (first[other] <= last[id] && first[id] <= last[other]) {
        busy.emplace_back(offsets_[other], offsets_[other] + AlignUp(d.values[other].bytes() + kPadding));
      }
    }
    std::sort(busy.begin(), busy.end());
    size_t offset = 0;
    for (const auto& [lo, hi] : busy) {
      if (offset + size <= lo) break;
      offset = std::max(offset, hi);
    }
    if (offset > kMaxArenaBytes - size) {
      throw Error("ERR_OCTET_OUT_OF_MEMORY", "the plan needs more than 2^44 bytes of activation memory (" +
                                                 ValueName(d, static_cast<int>(id)) + " does not fit)");
    }
    offsets_[id] = offset;
    arena_bytes_ = std::max(arena_bytes_, offset + size);
    placed.push_back(id);
  }
  if (arena_bytes_ > d.memory_limit) {
    throw Error("ERR_OCTET_MEMORY_LIMIT", "the plan needs " + std::to_string(arena_bytes_) +
                                              " bytes of activation memory, more than the limit of " +
                                              std::to_string(d.memory_limit));
  }
  arena_ = AlignedAlloc(arena_bytes_);
  std::memset(arena_.get(), 0, arena_bytes_);

  pointers_.assign(n, nullptr);
  for (size_t id : placed) pointers_[id] = arena_.get() + offsets_[id];
  constant_slot_.assign(n, -1);
  for (size_t id = 0; id < n; ++id) {
    ValueDesc& v = desc_.values[id];
    if (!v.constant) continue;
    auto buffer = AlignedAlloc(v.bytes() + kPadding);
    std::memset(buffer.get(), 0, v.bytes() + kPadding);
    if (v.payload_size() > 0) std::memcpy(buffer.get(), v.payload(), v.payload_size());
    // The payload is not read after this copy: drop it now rather than hold two copies while the ops pack (and
    // a borrowed one is only valid during Create).
    v.data.clear();
    v.data.shrink_to_fit();
    v.borrowed = nullptr;
    v.borrowed_size = 0;
    pointers_[id] = buffer.get();
    constant_slot_[id] = static_cast<int>(constants_.size());
    constants_.push_back(std::move(buffer));
  }
}

void Plan::Build() {
  if (desc_.threads > 1) {
    pool_ = pthreadpool_create(static_cast<size_t>(desc_.threads));
    if (pool_ == nullptr) throw Error("ERR_OCTET_OUT_OF_MEMORY", "pthreadpool_create failed");
  }
#ifdef OCTET_WITH_ONEDNN
  // oneDNN sizes per-thread scratch buffers from the calling thread's OpenMP limit when a primitive is created:
  // create with the same thread count every run uses.
  onednn::SetThreads(desc_.threads);
#endif
  // A constant is freed after the last node reading it is created, when every reader copied it into storage of
  // its own (OpContext::Packed) and it is not a plan output: weights then live once, packed, not twice.
  const size_t n = desc_.values.size();
  std::vector<int> readers(n, 0);
  std::vector<bool> keep(n, false);
  for (const NodeDesc& node : desc_.nodes) {
    for (int id : node.inputs) {
      if (id >= 0 && desc_.values[id].constant) ++readers[id];
    }
  }
  for (int id : desc_.outputs) keep[id] = true;
  for (const NodeDesc& node : desc_.nodes) {
    OpContext ctx(desc_, node, pointers_, pool_, desc_.threads);
    std::unique_ptr<Op> op;
    try {
      op = FindOpFactory(node.op)(ctx);
    } catch (const Error& e) {
      if (e.code() == "ERR_OCTET_INVALID_PLAN") throw;
      throw Error(e.code(), "node '" + node.name + "' (" + node.op + "): " + e.what());
    }
    for (const auto& [name, value] : node.attrs) {
      if (ctx.read_attrs().count(name) == 0) throw ctx.Fail("unknown attribute '" + name + "'");
    }
    ops_.push_back(std::move(op));
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const int id = node.inputs[i];
      if (id < 0 || !desc_.values[id].constant) continue;
      if (ctx.packed().count(i) == 0) keep[id] = true;
      if (--readers[id] == 0 && !keep[id] && constant_slot_[id] >= 0) {
        constants_[constant_slot_[id]].reset();
        constant_slot_[id] = -1;
        pointers_[id] = nullptr;
      }
    }
  }
}

void Plan::Run(const std::vector<const void*>& inputs, const std::vector<void*>& outputs,
               std::vector<double>* node_times_ns) {
  std::lock_guard<std::mutex> lock(mutex_);
#ifdef OCTET_WITH_ONEDNN
  onednn::SetThreads(desc_.threads);
#endif
  for (size_t i = 0; i < desc_.inputs.size(); ++i) {
    const int id = desc_.inputs[i];
    const size_t bytes = desc_.values[id].bytes();
    if (bytes > 0) std::memcpy(pointers_[id], inputs[i], bytes);  // an empty input may have no data pointer
  }
  if (node_times_ns) node_times_ns->assign(ops_.size(), 0.0);
  for (size_t k = 0; k < ops_.size(); ++k) {
    const auto start = std::chrono::steady_clock::now();
    try {
      ops_[k]->Run();
    } catch (const Error& e) {
      throw Error(e.code(), "node '" + desc_.nodes[k].name + "' (" + desc_.nodes[k].op + "): " + e.what());
    }
    if (node_times_ns) {
      (*node_times_ns)[k] = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
    }
  }
  for (size_t i = 0; i < desc_.outputs.size(); ++i) {
    const int id = desc_.outputs[i];
    const size_t bytes = desc_.values[id].bytes();
    if (bytes > 0) std::memcpy(outputs[i], pointers_[id], bytes);
  }
}

size_t Plan::constant_bytes() const {
  size_t total = 0;
  for (size_t id = 0; id < constant_slot_.size(); ++id) {
    if (constant_slot_[id] >= 0) total += desc_.values[id].bytes();
  }
  return total;
}

std::vector<std::string> Plan::implementations() const {
  std::vector<std::string> r;
  for (const auto& op : ops_) r.push_back(op->implementation());
  return r;
}

}  // namespace runtime
}  // namespace octet
