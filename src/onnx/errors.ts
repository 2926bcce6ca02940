/**
 * OnnxError: everything wrong with a model file or a graph (truncated bytes, missing initializers, cycles,
 * unsupported operators) is reported as one typed error that names the node or tensor at fault.
 */
import { OctetError } from '../errors.js';

export interface OnnxErrorDetails {
  /** The node at fault, as `OpType 'name'` would print it: its name, or its op type and index when unnamed. */
  node?: string;
  /** The tensor or value at fault. */
  tensor?: string;
  cause?: unknown;
}

export class OnnxError extends OctetError {
  readonly node?: string;
  readonly tensor?: string;

  constructor(message: string, details: OnnxErrorDetails = {}) {
    super('ERR_OCTET_ONNX', message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'OnnxError';
    if (details.node !== undefined) this.node = details.node;
    if (details.tensor !== undefined) this.tensor = details.tensor;
  }
}
