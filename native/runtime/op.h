// One prepared node of a plan, and the context its factory validates against.
//
// A factory (one per op name, see ops/registry.cc) checks arity, dtypes, shapes and attributes, creates the
// vendor operator (packing weights once), and binds it to the arena pointers it is given: buffers never move,
// so XNNPACK operators are set up once at creation and Run() only runs them.
#pragma once

#include <pthreadpool.h>

#include <limits>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "runtime/plan.h"

namespace octet {
namespace runtime {

class Op {
 public:
  virtual ~Op() = default;
  virtual void Run() = 0;
  virtual std::string implementation() const = 0;
};

class OpContext {
 public:
  OpContext(const PlanDesc& plan, const NodeDesc& node, const std::vector<void*>& pointers, pthreadpool_t pool,
            int threads)
      : plan_(plan), node_(node), pointers_(pointers), pool_(pool), threads_(threads) {}

  const NodeDesc& node() const { return node_; }
  const std::string& backend() const { return node_.backend; }
  pthreadpool_t pool() const { return pool_; }
  int threads() const { return threads_; }

  size_t num_inputs() const { return node_.inputs.size(); }
  size_t num_outputs() const { return node_.outputs.size(); }
  bool has_input(size_t i) const { return i < node_.inputs.size() && node_.inputs[i] >= 0; }
  const ValueDesc& input(size_t i) const;
  const ValueDesc& output(size_t i) const;
  void* in_ptr(size_t i) const { return pointers_[node_.inputs[i]]; }
  void* out_ptr(size_t i) const { return pointers_[node_.outputs[i]]; }
  template <typename T>
  const T* in(size_t i) const {
    return static_cast<const T*>(in_ptr(i));
  }
  template <typename T>
  T* out(size_t i) const {
    return static_cast<T*>(out_ptr(i));
  }

  // Error naming the node: "node 'conv1' (Conv): <message>".
  Error Fail(const std::string& message) const;
  void Expect(bool cond, const std::string& message) const {
    if (!cond) throw Fail(message);
  }
  // Checks min_in <= inputs <= max_in (trailing absent inputs allowed) and the output count, and that the
  // inputs below min_in are present.
  void ExpectArity(size_t min_in, size_t max_in, size_t outputs) const;
  void ExpectDType(const ValueDesc& v, ElemType t, const char* what) const;
  void ExpectShape(const ValueDesc& v, const Shape& shape, const char* what) const;
  void ExpectConstant(size_t input, const char* what) const;
  // Requires `what` (an int8/uint8 value) to carry per-tensor quantization.
  void ExpectPerTensorQuant(const ValueDesc& v, const char* what) const;
  // Requires two 8-bit values to share dtype and quantization (pure data movement ops).
  void ExpectSameQuant(const ValueDesc& a, const ValueDesc& b) const;

  // Attributes; each read marks the name as known. Unread attributes are rejected after the factory ran.
  bool Has(const std::string& name) const;
  int64_t Int(const std::string& name, int64_t def) const;
  int64_t Int(const std::string& name) const;
  double Float(const std::string& name, double def) const;
  std::vector<int64_t> Ints(const std::string& name, const std::vector<int64_t>& def) const;
  std::vector<int64_t> Ints(const std::string& name) const;
  std::vector<double> Floats(const std::string& name, const std::vector<double>& def) const;
  std::string Str(const std::string& name, const std::string& def) const;
  const std::set<std::string>& read_attrs() const { return read_; }

  // Declares that the op copied constant input `i` into storage of its own (packed or reordered weights) while
  // it was created and never reads the plan's buffer again: the plan frees that constant once every node reading
  // it has said so. Only for inputs the op does not keep a pointer to.
  void Packed(size_t i) {
    if (has_input(i)) packed_.insert(i);
  }
  const std::set<size_t>& packed() const { return packed_; }

  // Fused activation clamp attributes `activationMin` / `activationMax` (real values, default ±inf).
  float ActivationMin() const {
    return static_cast<float>(Float("activationMin", -std::numeric_limits<double>::infinity()));
  }
  float ActivationMax() const {
    return static_cast<float>(Float("activationMax", std::numeric_limits<double>::infinity()));
  }
  // The same clamp in a quantized output's domain, intersected with the dtype range.
  void QuantizedActivation(const ValueDesc& out, int32_t* lo, int32_t* hi) const;
  // Normalises an axis in [-rank, rank) to [0, rank).
  int64_t Axis(int64_t axis, size_t rank, const char* what) const;

 private:
  const AttrValue* Find(const std::string& name) const;

  const PlanDesc& plan_;
  const NodeDesc& node_;
  const std::vector<void*>& pointers_;
  pthreadpool_t pool_;
  int threads_;
  mutable std::set<std::string> read_;
  std::set<size_t> packed_;
};

using OpFactory = std::unique_ptr<Op> (*)(OpContext& ctx);

// nullptr when the op is unknown.
OpFactory FindOpFactory(const std::string& op);
std::vector<std::string> SupportedOps();

// A small op made of a callable: most own kernels need nothing more.
template <typename Fn>
class LambdaOp final : public Op {
 public:
  LambdaOp(std::string impl, Fn fn) : impl_(std::move(impl)), fn_(std::move(fn)) {}
  void Run() override { fn_(); }
  std::string implementation() const override { return impl_; }

 private:
  std::string impl_;
  Fn fn_;
};

template <typename Fn>
std::unique_ptr<Op> MakeOp(std::string impl, Fn fn) {
  return std::make_unique<LambdaOp<Fn>>(std::move(impl), std::move(fn));
}

}  // namespace runtime
}  // namespace octet
