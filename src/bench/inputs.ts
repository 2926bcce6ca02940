/**
 * The inputs a benchmark feeds: shaped from the model's input metadata, with symbolic dims resolved by
 * `--input NAME=SHAPE`, by the dims of `--input NAME=FILE.npy`, or (for the batch dimension) by the batch size.
 *
 * The batch dimension: when the first input's dim 0 is symbolic, every dim of any input named by that symbol
 * takes the batch size (Silero VAD: `input [batch, sequence]`, `state [2, batch, 128]`). When it is fixed to 1,
 * dim 0 of every input fixed to 1 does, and batches above 1 need the model's declared shapes rewritten (the
 * model may still not run there, e.g. a Reshape to a constant shape). A dim 0 fixed to n > 1 allows batch n only.
 *
 * Data: random inputs are deterministic (a seeded generator per input name, so both runtimes and every run see
 * the same values): float32 uniform in [-1, 1), int8/uint8 uniform over their range; int32/int64/bool inputs are
 * zeros (ids and indices stay in range). A scalar input takes a value with NAME=VALUE (Silero's `sr=16000`).
 * A file input holds one sample (1 at the batch axes); larger batches repeat it.
 */
import { existsSync } from 'node:fs';

import { OctetError } from '../errors.js';
import { readNpy } from '../quantize/data.js';
import type { ValueMetadata } from '../runtime/inference-session.js';

export type BenchTensorType = 'float32' | 'int8' | 'uint8' | 'int32' | 'int64' | 'bool';
export type BenchTypedArray = Float32Array | Int8Array | Uint8Array | Int32Array | BigInt64Array;

/** What `--input` says about one input: its shape at batch 1, or a .npy file holding one sample. */
export type InputOverride = { name: string; shape: number[] } | { name: string; file: string };

export interface PlannedInput {
  name: string;
  type: BenchTensorType;
  /** The shape the model declares (numbers fixed, strings symbolic). */
  modelShape: (number | string)[];
  /** Every dim resolved, batch axes at 1 (or at the model's fixed batch). */
  shape: number[];
  /** The axes that take the batch size. */
  batchAxes: number[];
  /** 'random', 'zeros', 'value' (a scalar given as NAME=VALUE), or the .npy file the values come from. */
  source: string;
  /** The value of a scalar input given as NAME=VALUE. */
  value?: number;
}

export type BatchDim =
  | { kind: 'symbolic'; symbol: string }
  /** dim 0 fixed in the model: n = 1 can be rewritten to other batches, n > 1 allows only batch n. */
  | { kind: 'fixed'; size: number; input: string }
  | { kind: 'none' };

export interface InputPlan {
  inputs: PlannedInput[];
  batch: BatchDim;
}

const TYPES: readonly BenchTensorType[] = ['float32', 'int8', 'uint8', 'int32', 'int64', 'bool'];

function benchError(message: string): OctetError {
  return new OctetError('ERR_OCTET_BENCH', message);
}

function describeOverride(o: InputOverride): string {
  return `--input ${o.name}=${'file' in o ? o.file : o.shape.join(',')}`;
}

function batchDimOf(meta: readonly ValueMetadata[]): BatchDim {
  const first = meta.find((m) => m.shape.length > 0);
  if (!first) return { kind: 'none' };
  const d0 = first.shape[0];
  return typeof d0 === 'string' ? { kind: 'symbolic', symbol: d0 } : { kind: 'fixed', size: d0, input: first.name };
}

function batchAxesOf(m: ValueMetadata, batch: BatchDim): number[] {
  if (batch.kind === 'symbolic') return m.shape.flatMap((d, k) => (d === batch.symbol ? [k] : []));
  if (batch.kind === 'fixed' && m.shape.length > 0 && m.shape[0] === batch.size) return [0];
  return [];
}

/**
 * Resolves every input's shape at batch 1. Throws OctetError ERR_OCTET_BENCH (a user error) for an override
 * naming no input, one that contradicts the model, or a symbolic dim nothing resolves.
 */
export function planInputs(meta: readonly ValueMetadata[], overrides: readonly InputOverride[] = []): InputPlan {
  const batch = batchDimOf(meta);
  const byName = new Map<string, InputOverride>();
  for (const o of overrides) {
    if (!meta.some((m) => m.name === o.name)) {
      throw benchError(`${describeOverride(o)}: the model has no input '${o.name}'; its inputs are ${meta.map((m) => m.name).join(', ')}`);
    }
    if (byName.has(o.name)) throw benchError(`--input ${o.name} is given twice`);
    if ('file' in o && !existsSync(o.file)) throw benchError(`${describeOverride(o)}: no such file`);
    byName.set(o.name, o);
  }
  // Symbols fixed by overrides, checked for agreement across inputs.
  const symbols = new Map<string, { value: number; from: string }>();
  const given = new Map<string, { dims: number[]; source: string; value?: number }>();
  for (const m of meta) {
    const o = byName.get(m.name);
    if (!o) continue;
    if (m.shape.length === 0 && 'shape' in o && o.shape.length === 1) {
      // A scalar input: NAME=VALUE gives its value.
      given.set(m.name, { dims: [], source: 'value', value: o.shape[0] });
      continue;
    }
    const dims = 'file' in o ? readNpy(o.file).dims : o.shape;
    const what = describeOverride(o);
    if (!dims.every((d) => Number.isInteger(d) && d > 0)) throw benchError(`${what}: dims must be positive integers`);
    if (dims.length !== m.shape.length) {
      throw benchError(`${what}: the model's input '${m.name}' has rank ${m.shape.length} ([${m.shape.join(', ')}]), got rank ${dims.length} ([${dims.join(', ')}])`);
    }
    const axes = batchAxesOf(m, batch);
    const batchOne = batch.kind === 'fixed' ? batch.size : 1;
    dims.forEach((v, k) => {
      const d = m.shape[k];
      if (axes.includes(k)) {
        if (v !== batchOne) throw benchError(`${what}: dim ${k} is the batch dimension, set by --batch; give ${batchOne}, got ${v}`);
      } else if (typeof d === 'number') {
        if (v !== d) throw benchError(`${what}: dim ${k} of '${m.name}' is fixed to ${d} in the model, got ${v}`);
      } else {
        const seen = symbols.get(d);
        if (seen && seen.value !== v) throw benchError(`${what}: dim ${k} ('${d}') is ${seen.value} in ${seen.from}, got ${v}`);
        symbols.set(d, { value: v, from: `input '${m.name}'` });
      }
    });
    given.set(m.name, { dims: [...dims], source: 'file' in o ? o.file : 'random' });
  }
  const inputs = meta.map((m): PlannedInput => {
    if (!TYPES.includes(m.type as BenchTensorType)) throw benchError(`input '${m.name}' has element type ${m.type}, which the benchmark cannot feed`);
    const axes = batchAxesOf(m, batch);
    const g = given.get(m.name);
    if (g) return { name: m.name, type: m.type as BenchTensorType, modelShape: [...m.shape], shape: g.dims, batchAxes: axes, source: g.source, ...(g.value !== undefined ? { value: g.value } : {}) };
    const unresolved: string[] = [];
    const shape = m.shape.map((d, k) => {
      if (axes.includes(k)) return batch.kind === 'fixed' ? batch.size : 1;
      if (typeof d === 'number') return d;
      const s = symbols.get(d);
      if (s) return s.value;
      unresolved.push(d);
      return -1;
    });
    if (unresolved.length > 0) {
      const hint = shape.map((v) => (v < 0 ? '?' : String(v))).join(',');
      throw benchError(`input '${m.name}' has symbolic dims (${unresolved.join(', ')}): give its shape with --input ${m.name}=${hint}`);
    }
    const source = ['float32', 'int8', 'uint8'].includes(m.type) ? 'random' : 'zeros';
    return { name: m.name, type: m.type as BenchTensorType, modelShape: [...m.shape], shape, batchAxes: axes, source };
  });
  return { inputs, batch };
}

/** Why a batch size cannot be measured on this model, or undefined when it can. */
export function batchSkipReason(plan: InputPlan, batch: number): string | undefined {
  const b = plan.batch;
  if (b.kind === 'none') return batch === 1 ? undefined : 'the model has no batch dimension (its inputs are scalars)';
  if (b.kind === 'fixed' && b.size !== 1 && batch !== b.size) return `the model fixes dim 0 of '${b.input}' to ${b.size}`;
  return undefined;
}

/** Whether batch `batch` needs the model's declared input shapes rewritten (dim 0 fixed to 1 in the model). */
export function needsRewrite(plan: InputPlan, batch: number): boolean {
  return plan.batch.kind === 'fixed' && plan.batch.size === 1 && batch !== 1;
}

export function dimsAt(input: PlannedInput, batch: number): number[] {
  return input.shape.map((d, k) => (input.batchAxes.includes(k) ? batch : d));
}

/** A seeded generator of uniform [0, 1) values (mulberry32): the same sequence in every process. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** mulberry32 seeded by a string's FNV-1a hash: the same values for the same input name. */
function generator(seedText: string): () => number {
  let h = 2166136261;
  for (let i = 0; i < seedText.length; i++) h = Math.imul(h ^ seedText.charCodeAt(i), 16777619);
  return mulberry32(h);
}

function allocate(type: BenchTensorType, n: number): BenchTypedArray {
  switch (type) {
    case 'float32':
      return new Float32Array(n);
    case 'int8':
      return new Int8Array(n);
    case 'int32':
      return new Int32Array(n);
    case 'int64':
      return new BigInt64Array(n);
    default:
      return new Uint8Array(n);
  }
}

function fromFile(input: PlannedInput): BenchTypedArray {
  const npy = readNpy(input.source);
  const src = npy.data as ArrayLike<number | bigint>;
  const out = allocate(input.type, src.length);
  if (out instanceof BigInt64Array) for (let i = 0; i < src.length; i++) out[i] = BigInt(src[i]);
  else if (input.type === 'bool') for (let i = 0; i < src.length; i++) out[i] = Number(src[i]) !== 0 ? 1 : 0;
  else for (let i = 0; i < src.length; i++) out[i] = Number(src[i]);
  return out;
}

/** Repeats a batch-1 tensor along its batch axes. */
function tile(one: BenchTypedArray, shape: readonly number[], axes: readonly number[], batch: number): BenchTypedArray {
  if (batch === 1 || axes.length === 0) return one;
  const outDims = shape.map((d, k) => (axes.includes(k) ? batch : d));
  const n = outDims.reduce((a, b) => a * b, 1);
  const out = new (one.constructor as new (n: number) => BenchTypedArray)(n);
  const inStrides = shape.map((_, k) => shape.slice(k + 1).reduce((a, b) => a * b, 1));
  const idx = new Array<number>(outDims.length).fill(0);
  for (let i = 0; i < n; i++) {
    let src = 0;
    for (let k = 0; k < idx.length; k++) if (!axes.includes(k)) src += idx[k] * inStrides[k];
    (out as Float32Array)[i] = (one as Float32Array)[src];
    for (let k = idx.length - 1; k >= 0; k--) {
      if (++idx[k] < outDims[k]) break;
      idx[k] = 0;
    }
  }
  return out;
}

/** The values of one input at a batch size (see the header for what random inputs hold). */
export function inputData(input: PlannedInput, batch: number): BenchTypedArray {
  if (!['random', 'zeros', 'value'].includes(input.source)) return tile(fromFile(input), input.shape, input.batchAxes, batch);
  const n = dimsAt(input, batch).reduce((a, b) => a * b, 1);
  const out = allocate(input.type, n);
  if (input.source === 'zeros') return out;
  if (input.source === 'value') {
    const v = input.value ?? 0;
    if (out instanceof BigInt64Array) out.fill(BigInt(Math.trunc(v)));
    else out.fill(input.type === 'bool' ? (v !== 0 ? 1 : 0) : v);
    return out;
  }
  const next = generator(input.name);
  if (input.type === 'float32') for (let i = 0; i < n; i++) out[i] = next() * 2 - 1;
  else if (input.type === 'int8') for (let i = 0; i < n; i++) out[i] = Math.floor(next() * 256) - 128;
  else if (input.type === 'uint8') for (let i = 0; i < n; i++) out[i] = Math.floor(next() * 256);
  return out;
}
