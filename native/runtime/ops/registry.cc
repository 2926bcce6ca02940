// Op name -> factory. The single list of what the plan executor supports (see docs/plan-format.md).
#include <map>

#include "runtime/ops/xnn_op.h"

namespace octet {
namespace runtime {

std::unique_ptr<Op> CreateConvOp(OpContext& ctx);
std::unique_ptr<Op> CreateConvTransposeOp(OpContext& ctx);
std::unique_ptr<Op> CreateFullyConnectedOp(OpContext& ctx);
std::unique_ptr<Op> CreateMatMulOp(OpContext& ctx);
std::unique_ptr<Op> CreateBinaryOp(OpContext& ctx);
std::unique_ptr<Op> CreateUnaryOp(OpContext& ctx);
std::unique_ptr<Op> CreateMaxPoolOp(OpContext& ctx);
std::unique_ptr<Op> CreateAveragePoolOp(OpContext& ctx);
std::unique_ptr<Op> CreateGlobalAveragePoolOp(OpContext& ctx);
std::unique_ptr<Op> CreateSoftmaxOp(OpContext& ctx);
std::unique_ptr<Op> CreateReduceOp(OpContext& ctx);
std::unique_ptr<Op> CreateResizeOp(OpContext& ctx);
std::unique_ptr<Op> CreateReshapeOp(OpContext& ctx);
std::unique_ptr<Op> CreateTransposeOp(OpContext& ctx);
std::unique_ptr<Op> CreateConcatOp(OpContext& ctx);
std::unique_ptr<Op> CreateSplitOp(OpContext& ctx);
std::unique_ptr<Op> CreateSliceOp(OpContext& ctx);
std::unique_ptr<Op> CreatePadOp(OpContext& ctx);
std::unique_ptr<Op> CreateGatherOp(OpContext& ctx);
std::unique_ptr<Op> CreateCastOp(OpContext& ctx);
std::unique_ptr<Op> CreateQuantizeLinearOp(OpContext& ctx);
std::unique_ptr<Op> CreateDequantizeLinearOp(OpContext& ctx);
std::unique_ptr<Op> CreateDynamicQuantizeLinearOp(OpContext& ctx);
std::unique_ptr<Op> CreateQuantizeDequantizeOp(OpContext& ctx);
std::unique_ptr<Op> CreateMatMulIntegerOp(OpContext& ctx);
std::unique_ptr<Op> CreateIntegerBinaryOp(OpContext& ctx);
std::unique_ptr<Op> CreateCompareOp(OpContext& ctx);
std::unique_ptr<Op> CreatePredicateOp(OpContext& ctx);
std::unique_ptr<Op> CreateWhereOp(OpContext& ctx);
std::unique_ptr<Op> CreateArgReduceOp(OpContext& ctx);
std::unique_ptr<Op> CreateHardmaxOp(OpContext& ctx);
std::unique_ptr<Op> CreateGatherElementsOp(OpContext& ctx);
std::unique_ptr<Op> CreateScatterElementsOp(OpContext& ctx);
std::unique_ptr<Op> CreateGatherNDOp(OpContext& ctx);
std::unique_ptr<Op> CreateScatterNDOp(OpContext& ctx);
std::unique_ptr<Op> CreateTriluOp(OpContext& ctx);
std::unique_ptr<Op> CreateExpandOp(OpContext& ctx);
std::unique_ptr<Op> CreateTileOp(OpContext& ctx);
std::unique_ptr<Op> CreateOneHotOp(OpContext& ctx);
std::unique_ptr<Op> CreateTopKOp(OpContext& ctx);
std::unique_ptr<Op> CreateLayerNormalizationOp(OpContext& ctx);
std::unique_ptr<Op> CreateRecurrentOp(OpContext& ctx);

namespace {

const std::map<std::string, OpFactory>& Table() {
  static const std::map<std::string, OpFactory> table = {
      {"Conv", CreateConvOp},
      {"ConvTranspose", CreateConvTransposeOp},
      {"FullyConnected", CreateFullyConnectedOp},
      {"MatMul", CreateMatMulOp},
      {"Add", CreateBinaryOp},
      {"Sub", CreateBinaryOp},
      {"Mul", CreateBinaryOp},
      {"Div", CreateBinaryOp},
      {"Max", CreateBinaryOp},
      {"Min", CreateBinaryOp},
      {"Pow", CreateBinaryOp},
      {"Relu", CreateUnaryOp},
      {"Clip", CreateUnaryOp},
      {"Sigmoid", CreateUnaryOp},
      {"Tanh", CreateUnaryOp},
      {"HardSigmoid", CreateUnaryOp},
      {"HardSwish", CreateUnaryOp},
      {"LeakyRelu", CreateUnaryOp},
      {"Elu", CreateUnaryOp},
      {"Sqrt", CreateUnaryOp},
      {"Exp", CreateUnaryOp},
      {"Log", CreateUnaryOp},
      {"Abs", CreateUnaryOp},
      {"Neg", CreateUnaryOp},
      {"Erf", CreateUnaryOp},
      {"Floor", CreateUnaryOp},
      {"Ceil", CreateUnaryOp},
      {"Round", CreateUnaryOp},
      {"Reciprocal", CreateUnaryOp},
      {"Sign", CreateUnaryOp},
      {"Sin", CreateUnaryOp},
      {"Cos", CreateUnaryOp},
      {"Tan", CreateUnaryOp},
      {"Asin", CreateUnaryOp},
      {"Acos", CreateUnaryOp},
      {"Atan", CreateUnaryOp},
      {"Sinh", CreateUnaryOp},
      {"Cosh", CreateUnaryOp},
      {"Asinh", CreateUnaryOp},
      {"Acosh", CreateUnaryOp},
      {"Atanh", CreateUnaryOp},
      {"Softplus", CreateUnaryOp},
      {"Softsign", CreateUnaryOp},
      {"Selu", CreateUnaryOp},
      {"ThresholdedRelu", CreateUnaryOp},
      {"Celu", CreateUnaryOp},
      {"Mod", CreateIntegerBinaryOp},
      {"Equal", CreateCompareOp},
      {"Less", CreateCompareOp},
      {"Greater", CreateCompareOp},
      {"LessOrEqual", CreateCompareOp},
      {"GreaterOrEqual", CreateCompareOp},
      {"And", CreateCompareOp},
      {"Or", CreateCompareOp},
      {"Xor", CreateCompareOp},
      {"Not", CreatePredicateOp},
      {"IsNaN", CreatePredicateOp},
      {"IsInf", CreatePredicateOp},
      {"Where", CreateWhereOp},
      {"ReduceProd", CreateReduceOp},
      {"ReduceL1", CreateReduceOp},
      {"ReduceL2", CreateReduceOp},
      {"ReduceSumSquare", CreateReduceOp},
      {"ReduceLogSum", CreateReduceOp},
      {"ReduceLogSumExp", CreateReduceOp},
      {"ArgMax", CreateArgReduceOp},
      {"ArgMin", CreateArgReduceOp},
      {"Hardmax", CreateHardmaxOp},
      {"GatherElements", CreateGatherElementsOp},
      {"ScatterElements", CreateScatterElementsOp},
      {"GatherND", CreateGatherNDOp},
      {"ScatterND", CreateScatterNDOp},
      {"Trilu", CreateTriluOp},
      {"Expand", CreateExpandOp},
      {"Tile", CreateTileOp},
      {"OneHot", CreateOneHotOp},
      {"TopK", CreateTopKOp},
      {"PRelu", CreateBinaryOp},
      {"Shrink", CreateUnaryOp},
      {"BitShift", CreateIntegerBinaryOp},
      {"MaxPool", CreateMaxPoolOp},
      {"AveragePool", CreateAveragePoolOp},
      {"GlobalAveragePool", CreateGlobalAveragePoolOp},
      {"Softmax", CreateSoftmaxOp},
      {"LogSoftmax", CreateSoftmaxOp},
      {"ReduceMean", CreateReduceOp},
      {"ReduceSum", CreateReduceOp},
      {"ReduceMax", CreateReduceOp},
      {"ReduceMin", CreateReduceOp},
      {"Resize", CreateResizeOp},
      {"Reshape", CreateReshapeOp},
      {"Flatten", CreateReshapeOp},
      {"Squeeze", CreateReshapeOp},
      {"Unsqueeze", CreateReshapeOp},
      {"Identity", CreateReshapeOp},
      {"Transpose", CreateTransposeOp},
      {"Concat", CreateConcatOp},
      {"Split", CreateSplitOp},
      {"Slice", CreateSliceOp},
      {"Pad", CreatePadOp},
      {"Gather", CreateGatherOp},
      {"Cast", CreateCastOp},
      {"QuantizeLinear", CreateQuantizeLinearOp},
      {"DequantizeLinear", CreateDequantizeLinearOp},
      {"DynamicQuantizeLinear", CreateDynamicQuantizeLinearOp},
      {"QuantizeDequantize", CreateQuantizeDequantizeOp},
      {"MatMulInteger", CreateMatMulIntegerOp},
      {"LayerNormalization", CreateLayerNormalizationOp},
      {"LSTM", CreateRecurrentOp},
      {"GRU", CreateRecurrentOp},
      {"RNN", CreateRecurrentOp},
  };
  return table;
}

}  // namespace

OpFactory FindOpFactory(const std::string& op) {
  auto it = Table().find(op);
  return it == Table().end() ? nullptr : it->second;
}

std::vector<std::string> SupportedOps() {
  std::vector<std::string> r;
  for (const auto& [name, f] : Table()) r.push_back(name);
  return r;
}

void EnsureXnnpack() {
  GetBackend("xnnpack");
}

}  // namespace runtime
}  // namespace octet
