#include "addon/plan_wrap.h"

#include <cmath>
#include <string>
#include <vector>

#include "addon/common.h"
#include "addon/promise_worker.h"
#include "addon/tensor_helper.h"

namespace octet {

namespace {

using runtime::AttrValue;
using runtime::ElemType;
using runtime::NodeDesc;
using runtime::PlanDesc;
using runtime::ValueDesc;

Error Invalid(const std::string& message) {
  return Error("ERR_OCTET_INVALID_PLAN", message);
}

// An integer-valued JS number in [lo, hi], or throws naming `what`.
int64_t ToInteger(const Napi::Value& v, int64_t lo, int64_t hi, const std::string& what) {
  if (!v.IsNumber()) throw Invalid("Expected integer for " + what);
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::floor(d) || d < static_cast<double>(lo) || d > static_cast<double>(hi)) {
    throw Invalid("Expected integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "] for " + what);
  }
  return static_cast<int64_t>(d);
}

Napi::Array ToArray(const Napi::Value& v, const std::string& what) {
  if (!v.IsArray()) throw Invalid("Expected array for " + what);
  return v.As<Napi::Array>();
}

std::vector<int> ToIds(const Napi::Value& v, int64_t lo, const std::string& what) {
  Napi::Array a = ToArray(v, what);
  std::vector<int> ids(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i) {
    ids[i] = static_cast<int>(ToInteger(a.Get(i), lo, (int64_t{1} << 30), what + "[" + std::to_string(i) + "]"));
  }
  return ids;
}

// Bytes of any ArrayBufferView.
// The bytes of an ArrayBufferView, not copied: the plan borrows them while Plan::Create runs (synchronously,
// inside the constructor call, which keeps the JS object alive) and copies them into its own buffers.
std::pair<const uint8_t*, size_t> ViewBytes(const Napi::Value& v, const std::string& what) {
  if (v.IsTypedArray()) {
    Napi::TypedArray t = v.As<Napi::TypedArray>();
    return {static_cast<const uint8_t*>(TypedArrayData(t)), t.ByteLength()};
  }
  if (v.IsDataView()) {
    Napi::DataView d = v.As<Napi::DataView>();
    return {static_cast<const uint8_t*>(d.ArrayBuffer().Data()) + d.ByteOffset(), d.ByteLength()};
  }
  throw Invalid("Expected ArrayBufferView for " + what);
}

ValueDesc ParseValue(const Napi::Value& v, size_t id) {
  const std::string where = "values[" + std::to_string(id) + "]";
  if (!v.IsObject()) throw Invalid("Expected object for " + where);
  Napi::Object o = v.As<Napi::Object>();
  ValueDesc d;
  Napi::Value name = o.Get("name");
  d.name = name.IsString() ? name.As<Napi::String>().Utf8Value() : std::to_string(id);
  const std::string vname = "value " + std::to_string(id) + " '" + d.name + "'";
  Napi::Value dtype = o.Get("dtype");
  if (!dtype.IsString() || !runtime::ParseElemType(dtype.As<Napi::String>().Utf8Value(), &d.dtype)) {
    throw Invalid(vname + ": Expected 'float32', 'int8', 'uint8', 'int32', 'int64' or 'bool' for dtype");
  }
  Napi::Array shape = ToArray(o.Get("shape"), vname + " shape");
  if (shape.Length() > 8) throw Invalid(vname + ": rank " + std::to_string(shape.Length()) + " > 8");
  for (uint32_t i = 0; i < shape.Length(); ++i) {
    d.shape.push_back(ToInteger(shape.Get(i), 0, runtime::kMaxElements, vname + " shape[" + std::to_string(i) + "]"));
  }
  Napi::Value data = o.Get("data");
  if (!data.IsUndefined() && !data.IsNull()) {
    d.constant = true;
    const auto [bytes, size] = ViewBytes(data, vname + " data");
    if (size > 0) {
      d.borrowed = bytes;
      d.borrowed_size = size;
    }
  }
  Napi::Value quant = o.Get("quant");
  if (!quant.IsUndefined() && !quant.IsNull()) {
    if (!quant.IsObject()) throw Invalid(vname + ": Expected object for quant");
    Napi::Object q = quant.As<Napi::Object>();
    d.has_quant = true;
    d.quant.scale = CopyTypedArray<float>(q.Get("scale"), napi_float32_array, "quant.scale");
    d.quant.zero_point = CopyTypedArray<int32_t>(q.Get("zeroPoint"), napi_int32_array, "quant.zeroPoint");
    Napi::Value axis = q.Get("axis");
    if (!axis.IsUndefined() && !axis.IsNull())
      d.quant.axis = static_cast<int>(ToInteger(axis, 0, 7, vname + " quant.axis"));
  }
  return d;
}

NodeDesc ParseNode(const Napi::Value& v, size_t k) {
  const std::string where = "nodes[" + std::to_string(k) + "]";
  if (!v.IsObject()) throw Invalid("Expected object for " + where);
  Napi::Object o = v.As<Napi::Object>();
  NodeDesc n;
  Napi::Value name = o.Get("name"), op = o.Get("op");
  n.name = name.IsString() ? name.As<Napi::String>().Utf8Value() : where;
  if (!op.IsString()) throw Invalid("node '" + n.name + "': Expected string for op");
  n.op = op.As<Napi::String>().Utf8Value();
  const std::string nname = "node '" + n.name + "' (" + n.op + ")";
  n.inputs = ToIds(o.Get("inputs"), -1, nname + " inputs");
  n.outputs = ToIds(o.Get("outputs"), 0, nname + " outputs");
  Napi::Value backend = o.Get("backend");
  if (!backend.IsUndefined() && !backend.IsNull()) {
    if (!backend.IsString()) throw Invalid(nname + ": Expected string for backend");
    n.backend = backend.As<Napi::String>().Utf8Value();
  }
  Napi::Value attrs = o.Get("attrs");
  if (!attrs.IsUndefined() && !attrs.IsNull()) {
    if (!attrs.IsObject()) throw Invalid(nname + ": Expected object for attrs");
    Napi::Object a = attrs.As<Napi::Object>();
    Napi::Array keys = a.GetPropertyNames();
    for (uint32_t i = 0; i < keys.Length(); ++i) {
      const std::string key = keys.Get(i).As<Napi::String>().Utf8Value();
      Napi::Value value = a.Get(key);
      AttrValue attr;
      if (value.IsNumber()) {
        attr.kind = AttrValue::Kind::kNumber;
        attr.number = value.As<Napi::Number>().DoubleValue();
      } else if (value.IsString()) {
        attr.kind = AttrValue::Kind::kString;
        attr.str = value.As<Napi::String>().Utf8Value();
      } else if (value.IsArray()) {
        attr.kind = AttrValue::Kind::kNumbers;
        Napi::Array arr = value.As<Napi::Array>();
        for (uint32_t j = 0; j < arr.Length(); ++j) {
          Napi::Value e = arr.Get(j);
          if (!e.IsNumber()) throw Invalid(nname + ": Expected an array of numbers for attribute '" + key + "'");
          attr.numbers.push_back(e.As<Napi::Number>().DoubleValue());
        }
      } else {
        throw Invalid(nname + ": Expected number, number[] or string for attribute '" + key + "'");
      }
      n.attrs.emplace(key, std::move(attr));
    }
  }
  return n;
}

PlanDesc ParsePlan(const Napi::Object& o) {
  PlanDesc d;
  Napi::Array values = ToArray(o.Get("values"), "values");
  for (uint32_t i = 0; i < values.Length(); ++i) d.values.push_back(ParseValue(values.Get(i), i));
  Napi::Array nodes = ToArray(o.Get("nodes"), "nodes");
  for (uint32_t i = 0; i < nodes.Length(); ++i) d.nodes.push_back(ParseNode(nodes.Get(i), i));
  d.inputs = ToIds(o.Get("inputs"), 0, "inputs");
  d.outputs = ToIds(o.Get("outputs"), 0, "outputs");
  d.threads = static_cast<int>(ToInteger(o.Get("threads"), 1, 1024, "threads"));
  Napi::Value limit = o.Get("memoryLimit");
  if (!limit.IsUndefined() && !limit.IsNull()) {
    d.memory_limit = static_cast<size_t>(ToInteger(limit, 0, int64_t{1} << 53, "memoryLimit"));
  }
  return d;
}

struct PlanRunBaton {
  std::shared_ptr<runtime::Plan> plan;
  std::vector<const void*> inputs;  // runSync: the JS arrays' data
  std::vector<void*> outputs;
  bool profile = false;
  std::vector<double> times;
};

Napi::Value TimesToJs(Napi::Env env, const PlanRunBaton& b) {
  if (!b.profile) return env.Undefined();
  Napi::Float64Array a = Napi::Float64Array::New(env, b.times.size());
  for (size_t i = 0; i < b.times.size(); ++i) a[i] = b.times[i];
  return a;
}

// [async] Runs the whole plan on a libuv worker thread; Execute() makes no N-API call and touches no JS memory:
// the inputs are copied here, on the JS thread, and the outputs land in own buffers that Result() copies into
// the JS arrays (see PromiseWorker on detached buffers).
class PlanRunWorker final : public PromiseWorker {
 public:
  PlanRunWorker(Napi::Env env, PlanRunBaton baton, Napi::Array inputs, Napi::Array outputs)
      : PromiseWorker(env, "octet:plan.run", {inputs, outputs}), baton_(std::move(baton)) {
    for (uint32_t i = 0; i < inputs.Length(); ++i) {
      input_copies_.push_back(CopyTypedArrayBytes(inputs.Get(i).As<Napi::TypedArray>()));
    }
    for (uint32_t i = 0; i < outputs.Length(); ++i) {
      output_buffers_.emplace_back(outputs.Get(i).As<Napi::TypedArray>().ByteLength());
    }
    baton_.inputs.clear();
    baton_.outputs.clear();
    for (const auto& b : input_copies_) baton_.inputs.push_back(b.data());
    for (auto& b : output_buffers_) baton_.outputs.push_back(b.data());
  }

 private:
  void Work() override { baton_.plan->Run(baton_.inputs, baton_.outputs, baton_.profile ? &baton_.times : nullptr); }
  Napi::Value Result() override {
    Napi::Array outputs = Kept(1).As<Napi::Array>();
    for (uint32_t i = 0; i < outputs.Length() && i < output_buffers_.size(); ++i) {
      CopyToTypedArray(outputs.Get(i), output_buffers_[i], "outputs[" + std::to_string(i) + "]");
    }
    return TimesToJs(Env(), baton_);
  }

  PlanRunBaton baton_;
  std::vector<std::vector<uint8_t>> input_copies_;
  std::vector<std::vector<uint8_t>> output_buffers_;
};

}  // namespace

struct PlanWrap::RunArgs {
  PlanRunBaton baton;
  Napi::Array inputs;
  Napi::Array outputs;
};

void PlanWrap::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(
      env, "Plan",
      {InstanceMethod<&PlanWrap::Run>("run"), InstanceMethod<&PlanWrap::RunSync>("runSync"),
       InstanceMethod<&PlanWrap::Release>("release"), InstanceAccessor<&PlanWrap::Implementations>("implementations"),
       InstanceAccessor<&PlanWrap::ArenaBytes>("arenaBytes"),
       InstanceAccessor<&PlanWrap::ConstantBytes>("constantBytes")});
  exports.Set("Plan", ctor);
}

PlanWrap::PlanWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PlanWrap>(info) {
  Napi::Env env = info.Env();
  OCTET_TRY
  OCTET_REQUIRE(env, info.Length() == 1 && info[0].IsObject(), "Expected (plan: object)");
  plan_ = std::shared_ptr<runtime::Plan>(runtime::Plan::Create(ParsePlan(info[0].As<Napi::Object>())));
  OCTET_CATCH(env)
}

PlanWrap::RunArgs PlanWrap::ParseRunArgs(const Napi::CallbackInfo& info) {
  if (!plan_) throw Error("ERR_OCTET_RELEASED", "the plan was released");
  OCTET_REQUIRE(info.Env(), info.Length() >= 2 && info[0].IsArray() && info[1].IsArray(),
                "Expected (inputs: TypedArray[], outputs: TypedArray[], profile?: boolean)");
  RunArgs args;
  args.inputs = info[0].As<Napi::Array>();
  args.outputs = info[1].As<Napi::Array>();
  OCTET_REQUIRE(info.Env(), args.inputs.Length() == plan_->num_inputs(),
                "Expected " + std::to_string(plan_->num_inputs()) + " inputs but received " +
                    std::to_string(args.inputs.Length()));
  OCTET_REQUIRE(info.Env(), args.outputs.Length() == plan_->num_outputs(),
                "Expected " + std::to_string(plan_->num_outputs()) + " outputs but received " +
                    std::to_string(args.outputs.Length()));
  for (uint32_t i = 0; i < args.inputs.Length(); ++i) {
    Napi::Value v = args.inputs.Get(i);
    const runtime::ValueDesc& d = plan_->input(i);
    OCTET_REQUIRE(info.Env(), v.IsTypedArray(), "Expected TypedArray for inputs[" + std::to_string(i) + "]");
    Napi::TypedArray t = v.As<Napi::TypedArray>();
    OCTET_REQUIRE(info.Env(), t.ByteLength() == d.bytes(),
                  "Expected " + std::to_string(d.bytes()) + " bytes for inputs[" + std::to_string(i) + "] '" + d.name +
                      "' but received " + std::to_string(t.ByteLength()));
    args.baton.inputs.push_back(TypedArrayData(t));
  }
  for (uint32_t i = 0; i < args.outputs.Length(); ++i) {
    Napi::Value v = args.outputs.Get(i);
    const runtime::ValueDesc& d = plan_->output(i);
    OCTET_REQUIRE(info.Env(), v.IsTypedArray(), "Expected TypedArray for outputs[" + std::to_string(i) + "]");
    Napi::TypedArray t = v.As<Napi::TypedArray>();
    OCTET_REQUIRE(info.Env(), t.ByteLength() == d.bytes(),
                  "Expected " + std::to_string(d.bytes()) + " bytes for outputs[" + std::to_string(i) + "] '" + d.name +
                      "' but received " + std::to_string(t.ByteLength()));
    args.baton.outputs.push_back(TypedArrayData(t));
  }
  args.baton.plan = plan_;
  args.baton.profile = info.Length() >= 3 && info[2].ToBoolean().Value();
  return args;
}

Napi::Value PlanWrap::Run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OCTET_TRY
  RunArgs args = ParseRunArgs(info);
  return (new PlanRunWorker(env, std::move(args.baton), args.inputs, args.outputs))->Start();
  OCTET_CATCH(env)
}

Napi::Value PlanWrap::RunSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OCTET_TRY
  RunArgs args = ParseRunArgs(info);
  PlanRunBaton& b = args.baton;
  b.plan->Run(b.inputs, b.outputs, b.profile ? &b.times : nullptr);
  return TimesToJs(env, b);
  OCTET_CATCH(env)
}

Napi::Value PlanWrap::Release(const Napi::CallbackInfo& info) {
  plan_.reset();  // an in-flight run keeps its own reference
  return info.Env().Undefined();
}

Napi::Value PlanWrap::Implementations(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!plan_) return env.Null();
  std::vector<std::string> impls = plan_->implementations();
  Napi::Array a = Napi::Array::New(env, impls.size());
  for (size_t i = 0; i < impls.size(); ++i) a.Set(i, impls[i]);
  return a;
}

Napi::Value PlanWrap::ArenaBytes(const Napi::CallbackInfo& info) {
  if (!plan_) return info.Env().Null();
  return Napi::Number::New(info.Env(), static_cast<double>(plan_->arena_bytes()));
}

Napi::Value PlanWrap::ConstantBytes(const Napi::CallbackInfo& info) {
  if (!plan_) return info.Env().Null();
  return Napi::Number::New(info.Env(), static_cast<double>(plan_->constant_bytes()));
}

}  // namespace octet
