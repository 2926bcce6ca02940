/**
 * octet: quantize ONNX models to int8 and run them fast from Node.js.
 */
export { backends, defaultBackend, type BackendInfo, type BackendName } from './backends.js';
export { OctetError, type OctetErrorCode } from './errors.js';
export {
  FullyConnectedInt8,
  type FullyConnectedInt8Options,
  type QuantParams,
  type QuantizedDType,
} from './ops/fully-connected.js';
export { referenceFullyConnected, roundHalfEven } from './kernels/reference.js';
