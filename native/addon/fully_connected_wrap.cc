#include "addon/fully_connected_wrap.h"

#include <limits>

#include "addon/common.h"
#include "addon/run_worker.h"
#include "addon/tensor_helper.h"

namespace octet {

namespace {

constexpr int64_t kMaxChannels = int64_t{1} << 24;

FullyConnectedParams ParseParams(const Napi::Object& obj) {
  FullyConnectedParams p;
  p.input_channels = static_cast<size_t>(GetInteger(obj, "inputChannels", 1, kMaxChannels));
  p.output_channels = static_cast<size_t>(GetInteger(obj, "outputChannels", 1, kMaxChannels));
  Napi::Value dtype = obj.Get("dtype");
  OCTET_REQUIRE(obj.Env(), dtype.IsString(), "Expected 'int8' or 'uint8' for dtype");
  std::string dtype_name = dtype.As<Napi::String>().Utf8Value();
  OCTET_REQUIRE(obj.Env(), dtype_name == "int8" || dtype_name == "uint8", "Expected 'int8' or 'uint8' for dtype");
  p.dtype = dtype_name == "int8" ? DType::kInt8 : DType::kUint8;
  const int64_t lo = DTypeMin(p.dtype), hi = DTypeMax(p.dtype);

  p.input_scale = GetPositiveScale(obj, "inputScale");
  p.input_zero_point = static_cast<int32_t>(GetInteger(obj, "inputZeroPoint", lo, hi));
  p.output_scale = GetPositiveScale(obj, "outputScale");
  p.output_zero_point = static_cast<int32_t>(GetInteger(obj, "outputZeroPoint", lo, hi));
  p.output_min = static_cast<int32_t>(GetInteger(obj, "outputMin", lo, hi));
  p.output_max = static_cast<int32_t>(GetInteger(obj, "outputMax", lo, hi));
  OCTET_REQUIRE(obj.Env(), p.output_min <= p.output_max, "Expected outputMin <= outputMax");
  p.threads = static_cast<int>(GetInteger(obj, "threads", 1, 1024));

  const size_t weight_count = p.input_channels * p.output_channels;
  p.weights = CopyTypedArray<int8_t>(obj.Get("weights"), napi_int8_array, "weights");
  OCTET_REQUIRE(obj.Env(), p.weights.size() == weight_count,
                "Expected weights of length outputChannels*inputChannels = " + std::to_string(weight_count) +
                    " but received " + std::to_string(p.weights.size()));
  p.weight_scales = CopyTypedArray<float>(obj.Get("weightScales"), napi_float32_array, "weightScales");
  OCTET_REQUIRE(obj.Env(), p.weight_scales.size() == 1 || p.weight_scales.size() == p.output_channels,
                "Expected weightScales of length 1 or outputChannels = " + std::to_string(p.output_channels));
  for (float s : p.weight_scales) {
    OCTET_REQUIRE(obj.Env(), s > 0 && std::isfinite(s), "Expected positive finite weightScales");
  }
  Napi::Value bias = obj.Get("bias");
  if (!bias.IsUndefined() && !bias.IsNull()) {
    p.bias = CopyTypedArray<int32_t>(bias, napi_int32_array, "bias");
    OCTET_REQUIRE(obj.Env(), p.bias.size() == p.output_channels,
                  "Expected bias of length outputChannels = " + std::to_string(p.output_channels));
  }
  return p;
}

}  // namespace

struct FullyConnectedWrap::RunArgs {
  KernelRunBaton baton;
  Napi::TypedArray input;
  Napi::TypedArray output;
};

void FullyConnectedWrap::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(
      env, "FullyConnected",
      {InstanceMethod<&FullyConnectedWrap::Run>("run"), InstanceMethod<&FullyConnectedWrap::RunSync>("runSync"),
       InstanceMethod<&FullyConnectedWrap::Release>("release"),
       InstanceAccessor<&FullyConnectedWrap::Implementation>("implementation")});
  exports.Set("FullyConnected", ctor);
}

FullyConnectedWrap::FullyConnectedWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<FullyConnectedWrap>(info) {
  Napi::Env env = info.Env();
  OCTET_TRY
  OCTET_REQUIRE(env, info.Length() == 2 && info[0].IsString() && info[1].IsObject(),
                "Expected (backend: string, params: object)");
  std::string name = info[0].As<Napi::String>().Utf8Value();
  Backend* backend = GetBackend(name);
  if (backend == nullptr) throw Error("ERR_OCTET_BACKEND_UNAVAILABLE", "backend '" + name + "' is not built in");
  FullyConnectedParams params = ParseParams(info[1].As<Napi::Object>());
  input_channels_ = params.input_channels;
  output_channels_ = params.output_channels;
  dtype_ = params.dtype;
  kernel_ = std::shared_ptr<Kernel>(backend->CreateFullyConnected(params));
  OCTET_CATCH(env)
}

FullyConnectedWrap::RunArgs FullyConnectedWrap::ParseRunArgs(const Napi::CallbackInfo& info) {
  if (!kernel_) throw Error("ERR_OCTET_RELEASED", "the kernel was released");
  OCTET_REQUIRE(info.Env(), info.Length() == 3, "Expected (input, output, batch)");
  const napi_typedarray_type type = dtype_ == DType::kInt8 ? napi_int8_array : napi_uint8_array;
  Napi::TypedArray input = ExpectTypedArray(info[0], type, "input");
  Napi::TypedArray output = ExpectTypedArray(info[1], type, "output");
  OCTET_REQUIRE(info.Env(), info[2].IsNumber(), "Expected number for batch");
  const double batch_d = info[2].As<Napi::Number>().DoubleValue();
  OCTET_REQUIRE(info.Env(), batch_d >= 0 && batch_d == std::floor(batch_d) && batch_d <= double(1 << 30),
                "Expected non-negative integer for batch");
  const size_t batch = static_cast<size_t>(batch_d);
  OCTET_REQUIRE(info.Env(), input.ElementLength() == batch * input_channels_,
                "Expected input of length batch*inputChannels = " + std::to_string(batch * input_channels_) +
                    " but received " + std::to_string(input.ElementLength()));
  OCTET_REQUIRE(info.Env(), output.ElementLength() == batch * output_channels_,
                "Expected output of length batch*outputChannels = " + std::to_string(batch * output_channels_) +
                    " but received " + std::to_string(output.ElementLength()));
  RunArgs args;
  args.baton.kernel = kernel_;
  args.baton.input = TypedArrayData(input);
  args.baton.output = TypedArrayData(output);
  args.baton.batch = batch;
  args.input = input;
  args.output = output;
  return args;
}

Napi::Value FullyConnectedWrap::Run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OCTET_TRY
  RunArgs args = ParseRunArgs(info);
  return (new KernelRunWorker(env, std::move(args.baton), args.input, args.output))->Start();
  OCTET_CATCH(env)
}

Napi::Value FullyConnectedWrap::RunSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OCTET_TRY
  RunArgs args = ParseRunArgs(info);
  args.baton.kernel->Run(args.baton.input, args.baton.output, args.baton.batch);
  return env.Undefined();
  OCTET_CATCH(env)
}

Napi::Value FullyConnectedWrap::Release(const Napi::CallbackInfo& info) {
  kernel_.reset();  // an in-flight run keeps its own reference
  return info.Env().Undefined();
}

Napi::Value FullyConnectedWrap::Implementation(const Napi::CallbackInfo& info) {
  if (!kernel_) return info.Env().Null();
  return Napi::String::New(info.Env(), kernel_->implementation());
}

}  // namespace octet
