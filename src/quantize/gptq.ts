/**
 * GPTQ weight rounding (Frantar et al. 2022, after Optimal Brain Quantization): instead of rounding each weight
 * to its nearest code, round the columns of each layer's weight matrix one after another and let the columns
 * not yet rounded absorb the error, so that the layer's *output* on the calibration data moves as little as
 * possible. For one output channel's weights w (a row, K inputs) and the layer's inputs x (the im2col patches of
 * a Conv, the rows of a MatMul/Gemm input), the quantity minimised is
 *
 *   E[((w − ŵ) · x)²] = (w − ŵ)ᵀ H (w − ŵ),   H = E[x xᵀ]  (K × K, shared by every row of the layer or group)
 *
 * Rounding column j gives an error δ_j = w_j − ŵ_j; the least-squares update of the remaining columns is
 * w_{>j} −= δ_j / U_jj · U_{j,>j}, where U is the upper Cholesky factor of H⁻¹ (H⁻¹ = UᵀU). Each row keeps the
 * scale (and zero point) nearest rounding would give it, so the result is a different choice of codes on the
 * same grid: the model's format, the bias scales and every runtime are unchanged.
 *
 * Why it matters: nearest rounding treats every weight alone. When a layer's inputs are correlated (a mostly
 * white page seen by a 3x3 depthwise Conv, whose nine inputs are nearly equal), the errors of a channel's
 * weights add up instead of averaging out: PP-OCR rec's first depthwise Conv alone, weights rounded to nearest,
 * takes the model's output to 9 dB SQNR. GPTQ rounds so that such sums are kept.
 *
 * H is measured in one extra run over the calibration data of a copy of the model whose weighted layers' inputs
 * are graph outputs (fp32 inputs: every layer is solved independently, so one run serves all). At most
 * `positions` patches per sample and layer are used (evenly spaced, shifted between samples), which keeps the
 * run and the memory flat; H is accumulated in float64.
 */
import { createProgress, type ProgressOptions } from '../calibration/progress.js';
import { OctetError } from '../errors.js';
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import { samePads } from '../ir/shape-inference.js';
import { loadModel, serializeModel } from '../onnx/io.js';
import type { CalibrationData } from './calibrate.js';
import { passOverData, resolveQParams } from './data-pass.js';
import type { CalibrationExecutor, CalibrationTensor, ExecutorFactory } from './executor.js';
import { quantizeWeight, weightDType, weightFloorForBias, type ActivationQParams, type QdqOptions, type QdqPlan } from './qdq.js';

/** What GPTQ reads of a static plan: the weighted roles, and the ties that lead an input to its qparams. */
export type GptqPlan = Pick<QdqPlan, 'roles' | 'ties'>;
/** What GPTQ reads of the QDQ options: weight-only (no bias floor), per-weight dtype overrides, 7-bit weights. */
export type GptqQdqOptions = Pick<QdqOptions, 'weightOnly' | 'overrides' | 'reduceRange'>;

export interface GptqOptions {
  maxSamples?: number;
  /** Patches (Conv) or rows (MatMul/Gemm) used per sample and layer (default 2048). */
  positions?: number;
  /** Dampening added to H's diagonal, as a fraction of its mean (default 0.01). */
  damp?: number;
  progress?: false | ProgressOptions;
  onWarning?: (message: string) => void;
}

/** Codes chosen by GPTQ for one weight tensor, in the tensor's own layout, with the grid they are on. */
export interface PrecomputedWeight {
  q: Int8Array | Uint8Array;
  scale: Float32Array;
  zeroPoint: Int32Array;
  axis: number | undefined;
}

export interface GptqLayer {
  node: string;
  weight: string;
  /**
   * The layer's output SQNR (dB) on the calibration inputs, from the weights alone: Σ wᵀHw / Σ δᵀHδ over the
   * rows, with nearest rounding and with GPTQ's.
   */
  nearestDb: number;
  gptqDb: number;
}

export interface GptqResult {
  weights: Map<string, PrecomputedWeight>;
  layers: GptqLayer[];
  /** Weighted layers left to nearest rounding, with the reason. */
  skipped: { node: string; reason: string }[];
  samples: number;
}

/** Largest K (inputs per output channel) solved: the Cholesky and inverse steps cost about K³ in all. */
const MAX_K = 2304;
/** Multiply-adds spent on H per layer, group and sample (fewer patches for wide layers; damping covers the rest). */
const WORK_PER_SAMPLE = 2 ** 28;
/** Rows solved together (they share the reads of U). */
const ROW_BLOCK = 8;

/** How a layer's weight matrix and its input patches are laid out. */
interface Target {
  node: Node;
  weight: string;
  input: string;
  kind: 'conv' | 'dense';
  groups: number;
  /** Rows (output channels) per group and inputs per row. */
  rows: number;
  k: number;
  /** Weight element of (row r of group g, column c): index into the tensor's data. */
  at: (g: number, r: number, c: number) => number;
  axis: number | undefined;
  dtype: 'int8' | 'uint8';
  floor: Float32Array | undefined;
  /** Conv geometry (spatial, 1 or 2 dims). */
  kernel: number[];
  strides: number[];
  dilations: number[];
  pads: number[];
  autoPad: string;
  /** H per group, K × K row-major, float64 sums; and the number of patches summed. */
  h: Float64Array[];
  count: number;
}

function targetsOf(model: Model, plan: GptqPlan, qparams: ReadonlyMap<string, ActivationQParams>, options: GptqQdqOptions, skipped: GptqResult['skipped']): Target[] {
  const g = model.graph;
  const out: Target[] = [];
  for (const role of plan.roles) {
    const n = role.node;
    if (!['Conv', 'Gemm', 'MatMul'].includes(n.opType)) continue;
    const slot = role.weightSlots.find((s) => s.slot === 1);
    const wv = n.input(1);
    const xv = n.input(0);
    if (!slot || !wv || !xv) continue;
    const label = n.name || n.id;
    const w = g.constantOf(wv);
    if (!w || !wv.initializer) continue;
    if (wv.consumers.length !== 1) {
      skipped.push({ node: label, reason: `its weight '${wv.name}' is shared with other nodes` });
      continue;
    }
    const dtype = weightDType(options, wv.name);
    const inputScale = options.weightOnly || !role.activationSlots.includes(0) ? undefined : resolveQParams(xv.name, plan, qparams)?.scale;
    const b = role.biasSlot !== undefined && inputScale !== undefined ? g.constantOf(n.input(role.biasSlot)) : undefined;
    const floor = b ? weightFloorForBias(b.toFloat32(), inputScale!) : undefined;
    const base = { node: n, weight: wv.name, input: xv.name, axis: slot.axis, dtype, floor, h: [] as Float64Array[], count: 0 };
    if (n.opType === 'Conv') {
      const spatial = w.dims.length - 2;
      if (spatial < 1 || spatial > 2) {
        skipped.push({ node: label, reason: `${spatial}-d Conv (GPTQ handles 1-d and 2-d)` });
        continue;
      }
      const groups = n.getInt('group', 1);
      const [m, cg] = w.dims;
      const kernel = w.dims.slice(2);
      const k = cg * kernel.reduce((a, d) => a * d, 1);
      const rows = m / groups;
      out.push({
        ...base,
        kind: 'conv',
        groups,
        rows,
        k,
        at: (gi, r, c) => (gi * rows + r) * k + c,
        kernel,
        strides: n.getInts('strides', new Array(spatial).fill(1)),
        dilations: n.getInts('dilations', new Array(spatial).fill(1)),
        pads: n.getInts('pads', new Array(2 * spatial).fill(0)),
        autoPad: n.getString('auto_pad', 'NOTSET'),
      });
    } else {
      if (w.dims.length !== 2) {
        skipped.push({ node: label, reason: `weight of rank ${w.dims.length} (GPTQ handles 2-d MatMul/Gemm weights)` });
        continue;
      }
      if (n.opType === 'Gemm' && n.getInt('transA', 0) !== 0) {
        skipped.push({ node: label, reason: 'Gemm with transA' });
        continue;
      }
      const trans = n.opType === 'Gemm' && n.getInt('transB', 0) === 1;
      const [r0, c0] = w.dims;
      const rows = trans ? r0 : c0;
      const k = trans ? c0 : r0;
      out.push({
        ...base,
        kind: 'dense',
        groups: 1,
        rows,
        k,
        at: trans ? (_g, r, c) => r * k + c : (_g, r, c) => c * rows + r,
        kernel: [],
        strides: [],
        dilations: [],
        pads: [],
        autoPad: 'NOTSET',
      });
    }
    const t = out[out.length - 1];
    if (t.k > MAX_K) {
      out.pop();
      skipped.push({ node: label, reason: `${t.k} inputs per output channel (GPTQ solves at most ${MAX_K})` });
    }
  }
  return out;
}

function asFloat(t: CalibrationTensor, what: string): Float32Array {
  const d = t.data;
  if (d instanceof Float32Array) return d;
  if (d instanceof Float64Array) return Float32Array.from(d);
  throw new OctetError('ERR_OCTET_CALIBRATION', `GPTQ: the input of '${what}' is not a float tensor`);
}

/**
 * Adds one sample's patches to H. `x` is the layer input; `sampleIndex` shifts the evenly spaced positions so that
 * successive samples see different ones.
 */
function accumulate(t: Target, x: Float32Array, dims: readonly number[], maxPositions: number, sampleIndex: number): void {
  const { k, groups } = t;
  if (t.h.length === 0) for (let g = 0; g < groups; g++) t.h.push(new Float64Array(k * k));
  // Patch p of group g, column c → value (0 outside the input: zero padding).
  let positions: number;
  let patch: (p: number, g: number, col: Float32Array) => void;
  if (t.kind === 'dense') {
    if (dims[dims.length - 1] !== k) throw new OctetError('ERR_OCTET_CALIBRATION', `GPTQ: '${t.node.name}' input has ${dims[dims.length - 1]} columns, its weight ${k} rows`);
    positions = x.length / k;
    patch = (p, _g, col) => col.set(x.subarray(p * k, (p + 1) * k));
  } else {
    const spatial = t.kernel.length;
    const [n, c] = dims;
    const cg = c / groups;
    const inH = spatial === 2 ? dims[2] : 1;
    const inW = dims[dims.length - 1];
    const kh = spatial === 2 ? t.kernel[0] : 1;
    const kw = t.kernel[spatial - 1];
    const [sh, sw] = spatial === 2 ? t.strides : [1, t.strides[0]];
    const [dh, dw] = spatial === 2 ? t.dilations : [1, t.dilations[0]];
    /** Outputs along one axis and the padding before its first window. */
    const outSize = (len: number, kk: number, s: number, d: number, p0: number, p1: number): [number, number] => {
      const eff = (kk - 1) * d + 1;
      if (t.autoPad === 'VALID') return [Math.floor((len - eff) / s) + 1, 0];
      if (t.autoPad === 'SAME_UPPER' || t.autoPad === 'SAME_LOWER') {
        const o = Math.ceil(len / s);
        return [o, samePads(t.autoPad, len, o, kk, s, d)[0]];
      }
      return [Math.floor((len + p0 + p1 - eff) / s) + 1, p0];
    };
    const [oh, ph] = spatial === 2 ? outSize(inH, kh, sh, dh, t.pads[0], t.pads[2]) : [1, 0];
    const [ow, pw] = spatial === 2 ? outSize(inW, kw, sw, dw, t.pads[1], t.pads[3]) : outSize(inW, kw, sw, dw, t.pads[0], t.pads[1]);
    positions = n * oh * ow;
    patch = (p, g, col) => {
      const b = Math.floor(p / (oh * ow));
      const rem = p % (oh * ow);
      const y0 = Math.floor(rem / ow) * sh - ph;
      const x0 = (rem % ow) * sw - pw;
      let i = 0;
      for (let ci = 0; ci < cg; ci++) {
        const plane = (b * c + g * cg + ci) * inH * inW;
        for (let a = 0; a < kh; a++) {
          const y = y0 + a * dh;
          const inside = y >= 0 && y < inH;
          for (let e = 0; e < kw; e++) {
            const xx = x0 + e * dw;
            col[i++] = inside && xx >= 0 && xx < inW ? x[plane + y * inW + xx] : 0;
          }
        }
      }
    };
  }
  const budget = Math.max(256, Math.floor(WORK_PER_SAMPLE / ((k * (k + 1)) / 2)));
  const step = Math.max(1, Math.ceil(positions / Math.min(maxPositions, budget)));
  const chosen: number[] = [];
  for (let p = sampleIndex % step; p < positions; p += step) chosen.push(p);
  const P = chosen.length;
  // Column-major patch matrix per group, then H += Xᵀ X (upper triangle, mirrored at the end of the run).
  const xs = new Float32Array(P * k);
  const col = new Float32Array(k);
  for (let g = 0; g < groups; g++) {
    for (let i = 0; i < P; i++) {
      patch(chosen[i], g, col);
      for (let c = 0; c < k; c++) xs[c * P + i] = col[c];
    }
    const h = t.h[g];
    for (let a = 0; a < k; a++) {
      const ra = a * P;
      let b = a;
      // Four columns at a time: column a is read once for four dot products.
      for (; b + 3 < k; b += 4) {
        const r0 = b * P, r1 = r0 + P, r2 = r1 + P, r3 = r2 + P;
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (let i = 0; i < P; i++) {
          const v = xs[ra + i];
          s0 += v * xs[r0 + i];
          s1 += v * xs[r1 + i];
          s2 += v * xs[r2 + i];
          s3 += v * xs[r3 + i];
        }
        const at = a * k + b;
        h[at] += s0;
        h[at + 1] += s1;
        h[at + 2] += s2;
        h[at + 3] += s3;
      }
      for (; b < k; b++) {
        const rb = b * P;
        let s = 0;
        for (let i = 0; i < P; i++) s += xs[ra + i] * xs[rb + i];
        h[a * k + b] += s;
      }
    }
  }
  t.count += P;
}

/** In-place lower Cholesky factor of a symmetric K × K matrix (row-major); false if not positive definite. */
function cholesky(a: Float64Array, k: number): boolean {
  for (let j = 0; j < k; j++) {
    let d = a[j * k + j];
    for (let p = 0; p < j; p++) d -= a[j * k + p] * a[j * k + p];
    if (!(d > 0)) return false;
    d = Math.sqrt(d);
    a[j * k + j] = d;
    for (let i = j + 1; i < k; i++) {
      let s = a[i * k + j];
      for (let p = 0; p < j; p++) s -= a[i * k + p] * a[j * k + p];
      a[i * k + j] = s / d;
    }
    for (let i = 0; i < j; i++) a[i * k + j] = 0;
  }
  return true;
}

/**
 * The upper Cholesky factor U of H⁻¹ (H⁻¹ = UᵀU), from one Cholesky factorisation and one triangular inverse:
 * with J the order reversal and L the lower factor of JHJ, U = J L⁻¹ J (UᵀU = J L⁻ᵀL⁻¹ J = J (JHJ)⁻¹ J = H⁻¹,
 * and J·lower·J is upper). Returns undefined when H (dampened) is not positive definite.
 */
function inverseFactor(h: Float64Array, k: number): Float64Array | undefined {
  const l = new Float64Array(k * k);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) l[i * k + j] = h[(k - 1 - i) * k + (k - 1 - j)];
  if (!cholesky(l, k)) return undefined;
  // L⁻¹ (lower) row by row: row i = −(Σ_{p<i} L[i][p] · row p) / L[i][i] off the diagonal, 1 / L[i][i] on it
  // (contiguous row updates, no column walks).
  const li = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    const ri = i * k;
    for (let p = 0; p < i; p++) {
      const lip = l[ri + p];
      if (lip === 0) continue;
      const rp = p * k;
      for (let c = 0; c <= p; c++) li[ri + c] += lip * li[rp + c];
    }
    const d = l[ri + i];
    for (let c = 0; c < i; c++) li[ri + c] = -li[ri + c] / d;
    li[ri + i] = 1 / d;
  }
  const u = new Float64Array(k * k);
  for (let i = 0; i < k; i++) for (let j = 0; j <= i; j++) u[(k - 1 - i) * k + (k - 1 - j)] = li[i * k + j];
  return u;
}

/** δᵀ H δ for a row difference δ (H full, symmetric). */
function quadratic(h: Float64Array, d: Float64Array, k: number): number {
  let s = 0;
  for (let a = 0; a < k; a++) {
    if (d[a] === 0) continue;
    let r = 0;
    for (let b = 0; b < k; b++) r += h[a * k + b] * d[b];
    s += d[a] * r;
  }
  return s;
}

const db = (signal: number, noise: number): number => (noise <= 0 ? Infinity : 10 * Math.log10(signal / noise));

/** Solves one layer: the codes, in the weight's layout, and the proxy SQNRs. */
function solve(model: Model, t: Target, options: GptqQdqOptions, damp: number, warn: (m: string) => void): { pre: PrecomputedWeight; nearestDb: number; gptqDb: number } {
  const w = model.graph.constantOf(model.graph.values.get(t.weight))!;
  const data = w.asFloat32();
  const nearest = quantizeWeight(data, w.dims, t.axis, t.dtype, t.floor, options.reduceRange);
  const { scale, zeroPoint } = nearest;
  const reduce = options.reduceRange === true;
  const [qmin, qmax] = t.dtype === 'int8' ? (reduce ? [-63, 63] : [-127, 127]) : [0, reduce ? 127 : 255];
  const q = t.dtype === 'int8' ? new Int8Array(data.length) : new Uint8Array(data.length);
  q.set(nearest.q);
  const { k, rows } = t;
  // The output channel a row is: conv rows are [group, row]; dense rows are columns of the weight.
  const channelOf = (g: number, r: number): number => (t.kind === 'conv' ? g * rows + r : r);
  let signal = 0;
  let noiseNearest = 0;
  let noiseGptq = 0;
  const block = new Float64Array(ROW_BLOCK * k);
  const delta = new Float64Array(k);
  for (let g = 0; g < t.groups; g++) {
    const h = t.h[g];
    for (let a = 0; a < k; a++) for (let b = 0; b < a; b++) h[a * k + b] = h[b * k + a];
    for (let i = 0; i < h.length; i++) h[i] /= t.count;
    let mean = 0;
    for (let a = 0; a < k; a++) mean += h[a * k + a];
    mean /= k;
    const hd = Float64Array.from(h);
    // Inputs that were always zero carry no information: a unit diagonal keeps them independent.
    for (let a = 0; a < k; a++) if (hd[a * k + a] === 0) hd[a * k + a] = 1;
    let u: Float64Array | undefined;
    for (let tries = 0, lambda = damp * (mean > 0 ? mean : 1); tries < 4 && !u; tries++, lambda *= 10) {
      const hh = Float64Array.from(hd);
      for (let a = 0; a < k; a++) hh[a * k + a] += lambda;
      u = inverseFactor(hh, k);
    }
    // Rows in blocks of ROW_BLOCK: each row of U is read once per block, not once per row.
    for (let r0 = 0; r0 < rows; r0 += ROW_BLOCK) {
      const nb = Math.min(ROW_BLOCK, rows - r0);
      const sc = new Float64Array(nb);
      const zp = new Float64Array(nb);
      const live: number[] = [];
      for (let b = 0; b < nb; b++) {
        const r = r0 + b;
        const ch = t.axis === undefined ? 0 : channelOf(g, r);
        sc[b] = scale[ch];
        zp[b] = zeroPoint[ch];
        const row = block.subarray(b * k, (b + 1) * k);
        for (let c = 0; c < k; c++) row[c] = data[t.at(g, r, c)];
        // A row with a non-finite weight keeps nearest rounding (already in q) and stays out of the figures.
        if (!row.every(Number.isFinite)) continue;
        for (let c = 0; c < k; c++) delta[c] = row[c] - (nearest.q[t.at(g, r, c)] - zp[b]) * sc[b];
        signal += quadratic(h, row, k);
        const dn = quadratic(h, delta, k);
        noiseNearest += dn;
        // No usable factor or an all-zero channel: nearest rounding.
        if (!u || sc[b] === 0) noiseGptq += dn;
        else live.push(b);
      }
      if (live.length === 0) continue;
      const orig = Float64Array.from(block);
      const err = new Float64Array(nb);
      for (let c = 0; c < k; c++) {
        const d = u![c * k + c];
        for (const b of live) {
          const x = block[b * k + c];
          let code = Math.round(x / sc[b]) + zp[b];
          if (code < qmin) code = qmin;
          else if (code > qmax) code = qmax;
          q[t.at(g, r0 + b, c)] = code;
          err[b] = (x - (code - zp[b]) * sc[b]) / d;
        }
        const uc = c * k;
        for (const b of live) {
          const e = err[b];
          if (e === 0) continue;
          const base = b * k;
          for (let j = c + 1; j < k; j++) block[base + j] -= e * u![uc + j];
        }
      }
      for (const b of live) {
        for (let c = 0; c < k; c++) delta[c] = orig[b * k + c] - (q[t.at(g, r0 + b, c)] - zp[b]) * sc[b];
        noiseGptq += quadratic(h, delta, k);
      }
    }
    if (!u) warn(`GPTQ: the input statistics of '${t.node.name || t.node.id}' (group ${g}) are singular; its weights keep nearest rounding`);
  }
  const nearestDb = db(signal, noiseNearest);
  let gptqDb = db(signal, noiseGptq);
  // On the calibration inputs GPTQ is never meant to be worse; if it is (a badly conditioned H), keep nearest.
  if (!(noiseGptq <= noiseNearest)) {
    q.set(nearest.q);
    gptqDb = nearestDb;
  }
  return { pre: { q, scale, zeroPoint, axis: t.axis }, nearestDb, gptqDb };
}

/**
 * Chooses GPTQ codes for the weights of every quantized Conv/Gemm/MatMul of `plan`, from one run over `data`.
 * Call after calibration (the bias floor needs the input scales) and pass the result to applyQdq() through
 * `QdqOptions.precomputed`.
 */
export async function gptqWeights(
  model: Model,
  plan: GptqPlan,
  qparams: ReadonlyMap<string, ActivationQParams>,
  qdqOptions: GptqQdqOptions,
  data: CalibrationData,
  factory: ExecutorFactory,
  options: GptqOptions = {},
): Promise<GptqResult> {
  const skipped: GptqResult['skipped'] = [];
  const list = targetsOf(model, plan, qparams, qdqOptions, skipped);
  const weights = new Map<string, PrecomputedWeight>();
  const layers: GptqLayer[] = [];
  if (list.length === 0) return { weights, layers, skipped, samples: 0 };
  const copy = loadModel(serializeModel(model), { baseDir: model.baseDir });
  const graphInputs = new Set(copy.graph.inputs.map((v) => v.name));
  const outputs = [...new Set(list.map((t) => t.input))].filter((name) => !graphInputs.has(name));
  const declared = new Set(copy.graph.outputs.map((v) => v.name));
  for (const name of outputs) if (!declared.has(name)) copy.graph.outputs.push(copy.graph.values.get(name)!);
  const exec: CalibrationExecutor = await factory(serializeModel(copy));
  const maxPositions = options.positions ?? 2048;
  const samples = await passOverData(model, data, exec, outputs, 'GPTQ statistics', options, (result, sample, used) => {
    for (const t of list) {
      const v = graphInputs.has(t.input) ? sample[t.input] : result[t.input];
      if (!v) throw new OctetError('ERR_OCTET_CALIBRATION', `GPTQ: the executor returned no output '${t.input}'`);
      accumulate(t, asFloat(v, t.node.name || t.node.id), v.dims, maxPositions, used);
    }
  });
  const warn = options.onWarning ?? (() => undefined);
  const solving = options.progress === false ? undefined : createProgress(list.length, 'GPTQ rounding', options.progress ?? {});
  try {
    for (const t of list) {
      const r = solve(model, t, qdqOptions, options.damp ?? 0.01, warn);
      t.h = [];
      weights.set(t.weight, r.pre);
      layers.push({ node: t.node.name || t.node.id, weight: t.weight, nearestDb: r.nearestDb, gptqDb: r.gptqDb });
      solving?.tick();
    }
  } finally {
    solving?.done();
  }
  return { weights, layers, skipped, samples };
}

