// Converters from JS values to C++ views, with the size checks that keep bad input from crashing the process.
#pragma once

#include <napi.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "addon/common.h"

namespace octet {

inline const char* TypedArrayTypeName(napi_typedarray_type type) {
  switch (type) {
    case napi_int8_array: return "Int8Array";
    case napi_uint8_array: return "Uint8Array";
    case napi_uint8_clamped_array: return "Uint8ClampedArray";
    case napi_int16_array: return "Int16Array";
    case napi_uint16_array: return "Uint16Array";
    case napi_int32_array: return "Int32Array";
    case napi_uint32_array: return "Uint32Array";
    case napi_float32_array: return "Float32Array";
    case napi_float64_array: return "Float64Array";
    case napi_bigint64_array: return "BigInt64Array";
    case napi_biguint64_array: return "BigUint64Array";
    default: break;
  }
  return "TypedArray";
}

// Returns the typed array `name` of the expected element type, or throws naming it.
inline Napi::TypedArray ExpectTypedArray(const Napi::Value& value, napi_typedarray_type type, const char* name) {
  if (!value.IsTypedArray()) {
    throw Error("ERR_OCTET_INVALID_ARGUMENT", std::string("Expected ") + TypedArrayTypeName(type) + " for " + name);
  }
  Napi::TypedArray array = value.As<Napi::TypedArray>();
  if (array.TypedArrayType() != type) {
    throw Error("ERR_OCTET_INVALID_ARGUMENT", std::string("Expected ") + TypedArrayTypeName(type) + " for " + name +
                                                  " but received " + TypedArrayTypeName(array.TypedArrayType()));
  }
  return array;
}

inline void* TypedArrayData(const Napi::TypedArray& array) {
  return static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
}

template <typename T>
std::vector<T> CopyTypedArray(const Napi::Value& value, napi_typedarray_type type, const char* name) {
  Napi::TypedArray array = ExpectTypedArray(value, type, name);
  const T* data = static_cast<const T*>(TypedArrayData(array));
  return std::vector<T>(data, data + array.ElementLength());
}

inline double GetNumber(const Napi::Object& obj, const char* name) {
  Napi::Value v = obj.Get(name);
  if (!v.IsNumber()) throw Error("ERR_OCTET_INVALID_ARGUMENT", std::string("Expected number for ") + name);
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d)) throw Error("ERR_OCTET_INVALID_ARGUMENT", std::string("Expected finite number for ") + name);
  return d;
}

inline int64_t GetInteger(const Napi::Object& obj, const char* name, int64_t min, int64_t max) {
  double d = GetNumber(obj, name);
  if (d != std::floor(d) || d < static_cast<double>(min) || d > static_cast<double>(max)) {
    throw Error("ERR_OCTET_INVALID_ARGUMENT", std::string("Expected integer in [") + std::to_string(min) + ", " +
                                                  std::to_string(max) + "] for " + name);
  }
  return static_cast<int64_t>(d);
}

inline float GetPositiveScale(const Napi::Object& obj, const char* name) {
  double d = GetNumber(obj, name);
  if (!(d > 0) || d > std::numeric_limits<float>::max() || static_cast<float>(d) == 0.0f) {
    throw Error("ERR_OCTET_INVALID_ARGUMENT", std::string("Expected positive float32 for ") + name);
  }
  return static_cast<float>(d);
}

}  // namespace octet
