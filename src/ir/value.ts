/**
 * Value: one named tensor flowing through a graph (graph input, initializer, node output), with its producer
 * and consumers. Dims are numbers (static), strings (symbolic, ONNX dim_param) or null (unknown).
 */
import type { TypeProto } from '../onnx/proto.js';
import type { Graph } from './graph.js';
import type { Node } from './node.js';
import type { Tensor } from './tensor.js';

export type Dim = number | string | null;

export interface TensorType {
  readonly kind: 'tensor';
  readonly elemType: number;
  /** undefined when the rank is unknown. */
  readonly shape: readonly Dim[] | undefined;
}

/** Sequence, map, optional and sparse types: kept as they were read. */
export interface OpaqueType {
  readonly kind: 'opaque';
  readonly proto: TypeProto;
}

export type ValueType = TensorType | OpaqueType;

export function tensorType(elemType: number, shape: readonly Dim[] | undefined): TensorType {
  return { kind: 'tensor', elemType, shape: shape === undefined ? undefined : [...shape] };
}

export function formatShape(shape: readonly Dim[] | undefined): string {
  if (shape === undefined) return '?';
  return `[${shape.map((d) => (d === null ? '?' : String(d))).join(', ')}]`;
}

export class Value {
  name: string;
  type: ValueType | undefined;
  /** The graph this value is defined in (subgraph nodes may use values of enclosing graphs). */
  graph: Graph;
  producer: Node | undefined = undefined;
  /** One entry per input slot that reads this value (a node reading it twice appears twice). */
  readonly consumers: Node[] = [];
  /** Set for initializers. */
  initializer: Tensor | undefined = undefined;
  docString: string | undefined = undefined;
  /** @internal protobuf details kept for a lossless round trip. */
  extras: { valueInfoUnknown?: Uint8Array[]; typeSource?: { type: ValueType; proto: TypeProto }; valueInfoProto?: unknown } = {};

  constructor(graph: Graph, name: string, type?: ValueType) {
    this.graph = graph;
    this.name = name;
    this.type = type;
  }

  get isGraphInput(): boolean {
    return this.graph.inputs.includes(this);
  }

  get isGraphOutput(): boolean {
    return this.graph.outputs.includes(this);
  }

  /** An initializer that is not also a graph input (those can be overridden at run time, so are not constant). */
  get isConstant(): boolean {
    return this.initializer !== undefined && !this.isGraphInput;
  }

  get tensorType(): TensorType | undefined {
    return this.type?.kind === 'tensor' ? this.type : undefined;
  }

  /** Element type from the declared type, else from the initializer. */
  get elemType(): number | undefined {
    return this.tensorType?.elemType ?? this.initializer?.dtype;
  }

  /** Shape from the declared type, else from the initializer. */
  get shape(): readonly Dim[] | undefined {
    return this.tensorType?.shape ?? this.initializer?.dims;
  }

  toString(): string {
    return `'${this.name}'`;
  }
}
