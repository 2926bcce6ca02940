// The backend interface every vendor wrapper implements.
//
// A Backend turns a fully described, already validated operator (weights, scales, zero points) into a
// Kernel: the vendor operator is created and its weights are packed once, at creation; Run() only moves
// activations. Everything here is plain C++ (no N-API), so kernels can run on worker threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace octet {

// Thrown by backends; the addon boundary turns it into a JS error carrying `code`.
class Error : public std::runtime_error {
 public:
  Error(std::string code, const std::string& message) : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

enum class DType { kInt8, kUint8 };

inline const char* DTypeName(DType t) {
  return t == DType::kInt8 ? "int8" : "uint8";
}
inline int32_t DTypeMin(DType t) {
  return t == DType::kInt8 ? -128 : 0;
}
inline int32_t DTypeMax(DType t) {
  return t == DType::kInt8 ? 127 : 255;
}

// y[m, n] = clamp(round(scale_n * (sum_k (x[m, k] - x_zp) * w[n, k] + bias[n])) + y_zp, y_min, y_max)
// with scale_n = x_scale * w_scale[n] / y_scale; weights are symmetric int8 (zero point 0).
struct FullyConnectedParams {
  size_t input_channels = 0;
  size_t output_channels = 0;
  DType dtype = DType::kInt8;  // activations (input and output)
  float input_scale = 1.0f;
  int32_t input_zero_point = 0;
  std::vector<int8_t> weights;       // [output_channels, input_channels], row-major
  std::vector<float> weight_scales;  // 1 (per tensor) or output_channels (per channel, axis 0)
  std::vector<int32_t> bias;         // empty or output_channels
  float output_scale = 1.0f;
  int32_t output_zero_point = 0;
  int32_t output_min = -128;  // fused activation clamp, in the quantized domain
  int32_t output_max = 127;
  int threads = 1;

  bool per_channel() const { return weight_scales.size() > 1; }
};

// A prepared operator. Run() may be called from any thread; calls on one kernel are serialised.
class Kernel {
 public:
  virtual ~Kernel() = default;
  // input: batch * input_channels elements; output: batch * output_channels elements.
  virtual void Run(const void* input, void* output, size_t batch) = 0;
  virtual const char* implementation() const = 0;
};

struct BackendInfo {
  std::string name;
  std::string version;
  std::string isa;                    // the instruction set the vendor library dispatches to
  std::vector<std::string> features;  // int8-relevant CPU features it detected
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual BackendInfo Info() const = 0;
  virtual std::unique_ptr<Kernel> CreateFullyConnected(const FullyConnectedParams& params) = 0;
};

// The process-wide instance of backend T, created on first use. A failure to initialise (unsupported CPU) is
// remembered and rethrown on every call as ERR_OCTET_BACKEND_UNAVAILABLE naming `library`.
template <typename T>
Backend* SingletonBackend(const char* library) {
  static std::once_flag once;
  static std::unique_ptr<Backend> backend;
  static std::string failure;
  std::call_once(once, [] {
    try {
      backend = std::make_unique<T>();
    } catch (const std::exception& e) {
      failure = e.what();
    }
  });
  if (!backend)
    throw Error("ERR_OCTET_BACKEND_UNAVAILABLE", std::string(library) + " cannot run on this machine: " + failure);
  return backend.get();
}

// Registry. Returns nullptr when the backend is not compiled in; throws octet::Error when it is compiled in
// but cannot initialise on this machine.
Backend* GetBackend(const std::string& name);
std::vector<std::string> CompiledBackends();

}  // namespace octet
