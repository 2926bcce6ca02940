#include "runtime/tensor.h"

namespace octet {
namespace runtime {

const char* ElemTypeName(ElemType t) {
  switch (t) {
    case ElemType::kFloat32: return "float32";
    case ElemType::kInt8: return "int8";
    case ElemType::kUint8: return "uint8";
    case ElemType::kInt32: return "int32";
    case ElemType::kInt64: return "int64";
    case ElemType::kBool: return "bool";
  }
  return "?";
}

bool ParseElemType(const std::string& name, ElemType* out) {
  static const ElemType kAll[] = {ElemType::kFloat32, ElemType::kInt8,  ElemType::kUint8,
                                  ElemType::kInt32,   ElemType::kInt64, ElemType::kBool};
  for (ElemType t : kAll) {
    if (name == ElemTypeName(t)) {
      *out = t;
      return true;
    }
  }
  return false;
}

size_t ElemSize(ElemType t) {
  switch (t) {
    case ElemType::kFloat32: return 4;
    case ElemType::kInt8: return 1;
    case ElemType::kUint8: return 1;
    case ElemType::kInt32: return 4;
    case ElemType::kInt64: return 8;
    case ElemType::kBool: return 1;
  }
  return 1;
}

std::string ShapeString(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

size_t NumElements(const Shape& shape) {
  size_t n = 1;
  for (int64_t d : shape) n *= static_cast<size_t>(d);
  return n;
}

std::vector<size_t> Strides(const Shape& shape) {
  std::vector<size_t> s(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;) s[i - 1] = s[i] * static_cast<size_t>(shape[i]);
  return s;
}

bool BroadcastShapes(const Shape& a, const Shape& b, Shape* out) {
  const size_t rank = std::max(a.size(), b.size());
  Shape r(rank);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1) return false;
    r[i] = da == 1 ? db : da;
  }
  *out = r;
  return true;
}

std::vector<size_t> BroadcastStrides(const Shape& in, const Shape& out) {
  std::vector<size_t> s(out.size(), 0);
  const std::vector<size_t> own = Strides(in);
  const size_t offset = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i) s[offset + i] = in[i] == 1 ? 0 : own[i];
  return s;
}

}  // namespace runtime
}  // namespace octet
