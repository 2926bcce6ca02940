#include "runtime/op.h"

#include <cmath>

namespace octet {
namespace runtime {

const ValueDesc& OpContext::input(size_t i) const {
  if (!has_input(i)) throw Fail("input " + std::to_string(i) + " is required");
  return plan_.values[node_.inputs[i]];
}

const ValueDesc& OpContext::output(size_t i) const {
  if (i >= node_.outputs.size()) throw Fail("output " + std::to_string(i) + " is required");
  return plan_.values[node_.outputs[i]];
}

Error OpContext::Fail(const std::string& message) const {
  return Error("ERR_OCTET_INVALID_PLAN", "node '" + node_.name + "' (" + node_.op + "): " + message);
}

void OpContext::ExpectArity(size_t min_in, size_t max_in, size_t outputs) const {
  size_t n = node_.inputs.size();
  while (n > min_in && node_.inputs[n - 1] < 0) --n;  // trailing absent optionals
  Expect(n >= min_in && n <= max_in,
         "expected " +
             (min_in == max_in ? std::to_string(min_in) : std::to_string(min_in) + " to " + std::to_string(max_in)) +
             " inputs but received " + std::to_string(node_.inputs.size()));
  for (size_t i = 0; i < min_in; ++i) Expect(node_.inputs[i] >= 0, "input " + std::to_string(i) + " is required");
  Expect(node_.outputs.size() == outputs,
         "expected " + std::to_string(outputs) + " outputs but received " + std::to_string(node_.outputs.size()));
}

void OpContext::ExpectDType(const ValueDesc& v, ElemType t, const char* what) const {
  Expect(v.dtype == t, std::string("expected ") + ElemTypeName(t) + " for " + what + " '" + v.name + "' but it is " +
                           ElemTypeName(v.dtype));
}

void OpContext::ExpectShape(const ValueDesc& v, const Shape& shape, const char* what) const {
  Expect(v.shape == shape, std::string("expected shape ") + ShapeString(shape) + " for " + what + " '" + v.name +
                               "' but it is " + ShapeString(v.shape));
}

void OpContext::ExpectConstant(size_t input, const char* what) const {
  Expect(this->input(input).constant, std::string(what) + " '" + this->input(input).name + "' must be a constant");
}

void OpContext::ExpectPerTensorQuant(const ValueDesc& v, const char* what) const {
  Expect(v.has_quant, std::string(what) + " '" + v.name + "' (" + ElemTypeName(v.dtype) + ") needs quant parameters");
  Expect(v.quant.per_tensor(), std::string(what) + " '" + v.name + "' must be quantized per tensor");
}

void OpContext::ExpectSameQuant(const ValueDesc& a, const ValueDesc& b) const {
  Expect(a.dtype == b.dtype,
         "'" + b.name + "' must have the dtype of '" + a.name + "' (" + ElemTypeName(a.dtype) + ")");
  // Plain 8-bit integers (neither side quantized) move like any other integer.
  if (!IsQuantized8(a.dtype) || (!a.has_quant && !b.has_quant)) return;
  Expect(a.has_quant && b.has_quant, "'" + a.name + "' and '" + b.name + "' need quant parameters");
  Expect(a.quant.scale == b.quant.scale && a.quant.zero_point == b.quant.zero_point,
         "'" + b.name + "' must have the quant parameters of '" + a.name +
             "' (this op moves data, it does not requantize)");
}

const AttrValue* OpContext::Find(const std::string& name) const {
  read_.insert(name);
  auto it = node_.attrs.find(name);
  return it == node_.attrs.end() ? nullptr : &it->second;
}

bool OpContext::Has(const std::string& name) const {
  return node_.attrs.count(name) != 0;
}

static bool IsInt(double d) {
  return std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.007199254740992e15;
}

int64_t OpContext::Int(const std::string& name, int64_t def) const {
  const AttrValue* a = Find(name);
  if (!a) return def;
  Expect(a->kind == AttrValue::Kind::kNumber && IsInt(a->number), "expected an integer for attribute '" + name + "'");
  return static_cast<int64_t>(a->number);
}

int64_t OpContext::Int(const std::string& name) const {
  Expect(Has(name), "attribute '" + name + "' is required");
  return Int(name, 0);
}

double OpContext::Float(const std::string& name, double def) const {
  const AttrValue* a = Find(name);
  if (!a) return def;
  Expect(a->kind == AttrValue::Kind::kNumber && !std::isnan(a->number),
         "expected a number for attribute '" + name + "'");
  return a->number;
}

std::vector<int64_t> OpContext::Ints(const std::string& name, const std::vector<int64_t>& def) const {
  const AttrValue* a = Find(name);
  if (!a) return def;
  Expect(a->kind == AttrValue::Kind::kNumbers, "expected an array of integers for attribute '" + name + "'");
  std::vector<int64_t> r;
  for (double d : a->numbers) {
    Expect(IsInt(d), "expected an array of integers for attribute '" + name + "'");
    r.push_back(static_cast<int64_t>(d));
  }
  return r;
}

std::vector<int64_t> OpContext::Ints(const std::string& name) const {
  Expect(Has(name), "attribute '" + name + "' is required");
  return Ints(name, {});
}

std::vector<double> OpContext::Floats(const std::string& name, const std::vector<double>& def) const {
  const AttrValue* a = Find(name);
  if (!a) return def;
  Expect(a->kind == AttrValue::Kind::kNumbers, "expected an array of numbers for attribute '" + name + "'");
  return a->numbers;
}

std::string OpContext::Str(const std::string& name, const std::string& def) const {
  const AttrValue* a = Find(name);
  if (!a) return def;
  Expect(a->kind == AttrValue::Kind::kString, "expected a string for attribute '" + name + "'");
  return a->str;
}

void OpContext::QuantizedActivation(const ValueDesc& out, int32_t* lo, int32_t* hi) const {
  const double amin = Float("activationMin", -std::numeric_limits<double>::infinity());
  const double amax = Float("activationMax", std::numeric_limits<double>::infinity());
  Expect(amin <= amax, "expected activationMin <= activationMax");
  const double s = out.quant.scale[0];
  const int32_t z = out.quant.zero_point[0];
  *lo = QMin(out.dtype);
  *hi = QMax(out.dtype);
  if (std::isfinite(amin)) *lo = QuantizeValue(amin, s, z, QMin(out.dtype), QMax(out.dtype));
  if (std::isfinite(amax)) *hi = QuantizeValue(amax, s, z, QMin(out.dtype), QMax(out.dtype));
}

int64_t OpContext::Axis(int64_t axis, size_t rank, const char* what) const {
  const int64_t r = static_cast<int64_t>(rank);
  Expect(axis >= -r && axis < r, std::string("attribute '") + what + "' = " + std::to_string(axis) +
                                     " is out of range for rank " + std::to_string(rank));
  return axis < 0 ? axis + r : axis;
}

}  // namespace runtime
}  // namespace octet
