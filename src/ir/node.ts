/**
 * Node: one operator application. Inputs/outputs are Values (null for an omitted optional one); attributes are
 * typed and ordered. Integer attributes are stored as bigint (int64 in ONNX, e.g. INT64_MAX in Slice ends) and
 * read as numbers through getInt/getInts.
 */
import { OnnxError } from '../onnx/errors.js';
import type { Graph } from './graph.js';
import type { Tensor } from './tensor.js';
import type { Value } from './value.js';

export type AttributeValue =
  | { type: 'float'; value: number }
  | { type: 'int'; value: bigint }
  | { type: 'string'; value: Uint8Array }
  | { type: 'tensor'; value: Tensor }
  | { type: 'graph'; value: Graph }
  | { type: 'floats'; value: number[] }
  | { type: 'ints'; value: bigint[] }
  | { type: 'strings'; value: Uint8Array[] }
  | { type: 'tensors'; value: Tensor[] }
  | { type: 'graphs'; value: Graph[] }
  /** Sparse tensors, type protos, and reference attributes of function bodies: kept as read. */
  | { type: 'sparse_tensor' | 'sparse_tensors' | 'type_proto' | 'type_protos' | 'undefined'; value: unknown };

export type AttributeType = AttributeValue['type'];

export type Attribute = AttributeValue & {
  name: string;
  docString?: string;
  /** Functions only: the attribute takes the value of the caller's attribute of this name. */
  refAttrName?: string;
  /** @internal protobuf details for a lossless round trip. */
  extras?: { unknown?: Uint8Array[]; typeAbsent?: boolean; raw?: unknown };
};

const utf8 = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();

export class Node {
  name: string;
  opType: string;
  domain: string;
  graph: Graph;
  readonly inputs: (Value | null)[] = [];
  readonly outputs: (Value | null)[] = [];
  readonly attributes = new Map<string, Attribute>();
  docString: string | undefined = undefined;
  /** IR-only annotations set by passes (e.g. `fusedActivation`); never saved. */
  readonly tags: Record<string, unknown> = {};
  /** @internal */
  extras: { unknown?: Uint8Array[] } = {};

  constructor(graph: Graph, opType: string, name = '', domain = '') {
    this.graph = graph;
    this.opType = opType;
    this.name = name;
    this.domain = domain;
  }

  /** `Conv 'conv1'`, or `Conv #3` (index in its graph) for an unnamed node. */
  get label(): string {
    return this.name !== '' ? `${this.opType} '${this.name}'` : `${this.opType} #${this.graph.nodes.indexOf(this)}`;
  }

  /** The node's name, or `#index` when unnamed (for OnnxError.node). */
  get id(): string {
    return this.name !== '' ? this.name : `#${this.graph.nodes.indexOf(this)}`;
  }

  input(i: number): Value | null {
    return this.inputs[i] ?? null;
  }

  output(i: number): Value | null {
    return this.outputs[i] ?? null;
  }

  /** Replaces input slot i, keeping consumer lists right. */
  setInput(i: number, value: Value | null): void {
    const old = this.inputs[i];
    if (old) removeOne(old.consumers, this);
    while (this.inputs.length <= i) this.inputs.push(null);
    this.inputs[i] = value;
    if (value) value.consumers.push(this);
  }

  /** Drops trailing omitted inputs. */
  trimInputs(): void {
    while (this.inputs.length > 0 && this.inputs[this.inputs.length - 1] === null) this.inputs.pop();
  }

  setOutput(i: number, value: Value | null): void {
    const old = this.outputs[i];
    if (old && old.producer === this) old.producer = undefined;
    while (this.outputs.length <= i) this.outputs.push(null);
    this.outputs[i] = value;
    if (value) value.producer = this;
  }

  /** Graphs held by attributes (If branches, Loop/Scan bodies). */
  subgraphs(): Graph[] {
    const out: Graph[] = [];
    for (const a of this.attributes.values()) {
      if (a.type === 'graph') out.push(a.value);
      else if (a.type === 'graphs') out.push(...a.value);
    }
    return out;
  }

  // ---- attribute access ----

  attr(name: string): Attribute | undefined {
    return this.attributes.get(name);
  }

  hasAttr(name: string): boolean {
    return this.attributes.has(name);
  }

  private typed<T extends AttributeType>(name: string, type: T): Extract<Attribute, { type: T }> | undefined {
    const a = this.attributes.get(name);
    if (a === undefined) return undefined;
    if (a.type !== type) throw new OnnxError(`Attribute '${name}' of node ${this.label} is ${a.type}, expected ${type}`, { node: this.id });
    return a as Extract<Attribute, { type: T }>;
  }

  private missing(name: string): never {
    throw new OnnxError(`Node ${this.label} has no attribute '${name}'`, { node: this.id });
  }

  getInt(name: string, fallback?: number): number {
    const a = this.typed(name, 'int');
    if (a) return Number(a.value);
    return fallback ?? this.missing(name);
  }

  getInts(name: string, fallback?: number[]): number[] {
    const a = this.typed(name, 'ints');
    if (a) return a.value.map(Number);
    return fallback ?? this.missing(name);
  }

  getFloat(name: string, fallback?: number): number {
    const a = this.typed(name, 'float');
    if (a) return a.value;
    return fallback ?? this.missing(name);
  }

  getFloats(name: string, fallback?: number[]): number[] {
    const a = this.typed(name, 'floats');
    if (a) return a.value;
    return fallback ?? this.missing(name);
  }

  getString(name: string, fallback?: string): string {
    const a = this.typed(name, 'string');
    if (a) return utf8.decode(a.value);
    return fallback ?? this.missing(name);
  }

  getStrings(name: string, fallback?: string[]): string[] {
    const a = this.typed(name, 'strings');
    if (a) return a.value.map((s) => utf8.decode(s));
    return fallback ?? this.missing(name);
  }

  getTensor(name: string): Tensor | undefined {
    return this.typed(name, 'tensor')?.value;
  }

  getGraph(name: string): Graph | undefined {
    return this.typed(name, 'graph')?.value;
  }

  setAttr(attribute: Attribute): void {
    if (attribute.type === 'graph') attribute.value.parentNode = this;
    if (attribute.type === 'graphs') for (const g of attribute.value) g.parentNode = this;
    this.attributes.set(attribute.name, attribute);
  }

  setInt(name: string, value: number | bigint): void {
    this.setAttr({ name, type: 'int', value: BigInt(value) });
  }

  setInts(name: string, values: readonly (number | bigint)[]): void {
    this.setAttr({ name, type: 'ints', value: values.map((v) => BigInt(v)) });
  }

  setFloat(name: string, value: number): void {
    this.setAttr({ name, type: 'float', value: Math.fround(value) });
  }

  setFloats(name: string, values: readonly number[]): void {
    this.setAttr({ name, type: 'floats', value: values.map(Math.fround) });
  }

  setString(name: string, value: string): void {
    this.setAttr({ name, type: 'string', value: utf8Encoder.encode(value) });
  }

  setTensor(name: string, value: Tensor): void {
    this.setAttr({ name, type: 'tensor', value });
  }

  removeAttr(name: string): void {
    this.attributes.delete(name);
  }

  toString(): string {
    return this.label;
  }
}

export function removeOne<T>(list: T[], item: T): void {
  const i = list.indexOf(item);
  if (i >= 0) list.splice(i, 1);
}
