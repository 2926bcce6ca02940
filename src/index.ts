/**
 * octet: quantize ONNX models to int8 and run them fast from Node.js.
 */
export { backends, checkInt8Backend, defaultBackend, onednnHasInt8Dot, onednnInt8Support, type BackendInfo, type BackendName, type OnednnInt8Support } from './backends.js';
export { OctetError, type OctetErrorCode } from './errors.js';
export {
  FullyConnectedInt8,
  type FullyConnectedInt8Options,
  type QuantParams,
  type QuantizedDType,
} from './ops/fully-connected.js';
export { referenceFullyConnected, roundHalfEven } from './kernels/reference.js';

// ONNX model I/O, graph IR, canonicalising passes.
export { OnnxError, type OnnxErrorDetails } from './onnx/errors.js';
export { loadModel, saveModel, serializeModel, type LoadOptions, type SaveOptions } from './onnx/io.js';
export {
  DataType,
  dataTypeName,
  dataTypeFromName,
  byteLengthOf,
  float16ToNumber,
  numberToFloat16,
  bfloat16ToNumber,
  numberToBfloat16,
} from './onnx/dtype.js';
export { Model, type OpsetImport } from './ir/model.js';
export { Graph, type AddNodeOptions } from './ir/graph.js';
export { Node, type Attribute, type AttributeType, type AttributeValue } from './ir/node.js';
export { Value, tensorType, formatShape, type Dim, type TensorType, type OpaqueType, type ValueType } from './ir/value.js';
// The IR's tensor (initializers, attributes) is IrTensor; `Tensor` is the onnxruntime-shaped runtime tensor.
export { Tensor as IrTensor, sizeOf, type TensorInit, type ExternalDataInfo } from './ir/tensor.js';
export { verifyModel, assertValid, type VerifyIssue } from './ir/verify.js';
export { inferShapes, broadcastShapes, type InferShapesOptions, type InferShapesResult } from './ir/shape-inference.js';
export { evaluateNode } from './ir/evaluate.js';
export { summarizeModel, type ModelSummary, type ValueSummary } from './ir/summary.js';
export { canonicalize, runPass, PASSES, PASS_NAMES } from './passes/manager.js';
export type { Pass, PassContext, PassName, PassReport, CanonicalizeOptions } from './passes/pass.js';
export type { FusedActivation } from './passes/tag-activations.js';
export { equalizeCrossLayer, type EqualizeOptions, type EqualizeResult } from './passes/equalize-cross-layer.js';

// Quantization primitives (torchao vocabulary) and calibration observers.
export {
  perTensor,
  perAxis,
  qRange,
  chooseQParams,
  chooseQParamsPerAxis,
  symmetricZeroPoint,
  MIN_SCALE,
  QUANT_DTYPES,
  ACTIVATION_DTYPES,
  QuantSpec,
  quantizeAffine,
  dequantizeAffine,
  quantizeBias,
  sqnr,
  disagreement,
  mse,
  maxAbsError,
  type Granularity,
  type PerTensor,
  type PerAxis,
  type QuantDType,
  type ActivationDType,
  type QRange,
  type QRangeOptions,
  type ChooseQParamsOptions,
  type AffineQParams,
  type PerAxisQParams,
  type QuantSpecOptions,
  type AffineOptions,
  type QuantizedArray,
  type QuantizedBias,
} from './quantize/index.js';
export {
  createObserver,
  MinMaxObserver,
  HistogramObserver,
  EntropyObserver,
  PercentileObserver,
  MseObserver,
  createProgress,
  CALIBRATION_METHODS,
  DEFAULT_BINS,
  DEFAULT_PERCENTILE,
  type Observer,
  type CalibrationMethod,
  type CalibrationRange,
  type HistogramMode,
  type HistogramSnapshot,
  type MinMaxObserverOptions,
  type EntropyObserverOptions,
  type PercentileObserverOptions,
  type MseObserverOptions,
  type ObserverOptionsByMethod,
  type ObserverByMethod,
  type Progress,
  type ProgressOptions,
  type ProgressStream,
} from './calibration/index.js';
export { Tensor, type TensorType as RuntimeTensorType, type TensorData, type TensorDataTypeMap } from './runtime/tensor.js';
export {
  type InferenceSession as InferenceSessionInterface,
  type SessionOptions,
  type RunOptions,
  type FeedsType,
  type ReturnType as RunResult,
  type ValueMetadata,
  type ExecutionBackend,
} from './runtime/inference-session.js';
export { InferenceSession, InferenceSessionImpl } from './runtime/inference-session-impl.js';
export { lowerModel, unsupportedNodes, type LoweredModel, type LowerOptions } from './lower/lower.js';
export {
  createPlan,
  validatePlan,
  PreparedPlan,
  PLAN_OPS,
  PLAN_DTYPES,
  type Plan,
  type PlanValue,
  type PlanNode,
  type PlanQuant,
  type PlanDType,
  type PlanOp,
  type PlanAttr,
  type PlanBackend,
  type PlanTypedArray,
  type PlanNodeProfile,
  type PlanRunOptions,
} from './runtime/plan.js';
export { runReference } from './runtime/reference/interpreter.js';

// quantize() calibrates on octet's own runtime unless told otherwise.
import { setDefaultExecutorFactory as registerExecutorFactory } from './quantize/executor.js';
import { createOctetExecutor } from './runtime/calibration-executor.js';
export { createOctetExecutor };
registerExecutorFactory(createOctetExecutor);

// Graph quantization: quantize(), calibration over an executor, data sources, ingest of quantized models.
export { quantize, type QuantizeOptions, type QuantizeReport, type QuantizeResult } from './quantize/quantize.js';
export {
  setDefaultExecutorFactory,
  getDefaultExecutorFactory,
  type CalibrationExecutor,
  type CalibrationSample,
  type CalibrationTensor,
  type ExecutorFactory,
} from './quantize/executor.js';
export { calibrate, type CalibrateOptions, type CalibrationData, type CalibrationResult, type TensorRange } from './quantize/calibrate.js';
export { readNpy, writeNpy, npyFolderSource, imageFolderSource, openCalibrationFolder, type NpyData, type NpyArray, type ImageSourceOptions } from './quantize/data.js';
export { detectQuantized, type QuantizedModelInfo } from './quantize/ingest.js';
export { STATIC_OP_TYPES, type TensorOverride, type TensorReport, type SkippedNode } from './quantize/qdq.js';
export { DYNAMIC_OP_TYPES } from './quantize/dynamic.js';

// The HTML report of a sensitivity analysis.
export { renderReport, writeReport, type ReportOptions } from './analysis/report.js';
// Sensitivity analysis and mixed precision (quantize({ targetSqnr })).
export { analyzeSensitivity, type AnalyzeOptions } from './analysis/sensitivity.js';
export type {
  SensitivityReport,
  LayerSensitivity,
  OutputSensitivity,
  ErrorStats,
  TensorHistogram,
  GraphNodeSummary,
  MixedPrecisionSummary,
} from './analysis/types.js';
