/**
 * Empirical bias correction (Nagel et al. 2019; the "empirical" variant runs the layers on data): quantizing
 * a layer's weights (and its input) shifts the *mean* of its output, and that shift passes through every later
 * layer. For each quantized Conv/ConvTranspose/Gemm, per output channel c:
 *
 *   shift_c = E[y_fp32 − y_q]_c,    y_fp32 = op(x, W) + b,    y_q = op(DQ(Q(x)), DQ(Q(W))) + b
 *   b'_c = b_c + shift_c            (before the bias is quantized; a Conv without bias gets one)
 *
 * over the calibration samples and every spatial position. E[·] of the difference is computed in one extra
 * run over the data of a "shadow" copy of the model: beside every corrected layer sits its quantized twin,
 * reading the same float input x through the input's calibrated Q/DQ pair and the dequantized int8 weights,
 * and ReduceMean(y_fp32 − y_q) over all axes but the channel's is a graph output, C floats per layer.
 *
 *   x ──────────────▶ Op(W, b) ──▶ y ──▶ (the model goes on)
 *   x ─Q─DQ─▶ Op(DQ(W_q), b) ──▶ y_q        Sub(y, y_q) ─▶ ReduceMean ─▶ shift   (graph output)
 *
 * Each layer is measured with the float input, so the shifts do not depend on one another and one run
 * measures them all (correcting layer by layer with the quantized model's inputs would need one run per
 * layer). Why not the analytic form conv(E[x], W − W_q)? It is exact for the weight error of a 1x1 Conv or a
 * Gemm, but ignores zero padding at borders (a 3x3 depthwise Conv on a 48x192 map has 4 % of its outputs on
 * a border) and the input's own rounding and clipping; the run costs about one more calibration pass with a
 * model twice the size, and it measures exactly what the quantized layer computes.
 *
 * MatMul (no bias input) is left alone: adding one would need an Add node after it.
 */
import type { ProgressOptions } from '../calibration/progress.js';
import { OctetError } from '../errors.js';
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import { Tensor } from '../ir/tensor.js';
import { DataType } from '../onnx/dtype.js';
import { loadModel, serializeModel } from '../onnx/io.js';
import { dequantizeAffine } from './affine.js';
import type { CalibrationData } from './calibrate.js';
import { passOverData, resolveQParams } from './data-pass.js';
import type { CalibrationExecutor, ExecutorFactory } from './executor.js';
import { addQdqPair, raiseOpsetFor16Bit, weightCodes, weightDType, weightFloorForBias, type ActivationQParams, type NodeRole, type QdqOptions, type QdqPlan } from './qdq.js';

export interface BiasCorrectionOptions {
  maxSamples?: number;
  progress?: false | ProgressOptions;
  onWarning?: (message: string) => void;
}

export interface BiasCorrection {
  /** The node whose bias was corrected. */
  node: string;
  /** The bias tensor (new when `added`). */
  bias: string;
  added: boolean;
  /** The correction added to the bias, per output channel. */
  shift: Float32Array;
}

export interface BiasCorrectionResult {
  corrections: BiasCorrection[];
  /** Samples run. */
  samples: number;
  /** Quantized nodes left uncorrected, with the reason (MatMul, a Gemm whose C is not a per-column vector). */
  skipped: { node: string; reason: string }[];
}

interface Target {
  role: NodeRole;
  node: Node;
  /** Output channel axis and the output's rank. */
  axis: number;
  rank: number;
  channels: number;
  output: string;
}

/** The layers bias correction applies to, and those it leaves (with the reason). */
function targets(model: Model, plan: QdqPlan, skipped: BiasCorrectionResult['skipped']): Target[] {
  const g = model.graph;
  const out: Target[] = [];
  for (const role of plan.roles) {
    const n = role.node;
    if (!['Conv', 'ConvTranspose', 'Gemm', 'MatMul'].includes(n.opType)) continue;
    const w = role.weightSlots.find((s) => s.slot === 1);
    const y = n.output(0);
    if (!w || !y) continue;
    const label = n.name || n.id;
    const wt = g.constantOf(n.input(1))!;
    if (n.opType === 'MatMul') {
      skipped.push({ node: label, reason: 'MatMul has no bias input' });
      continue;
    }
    if (n.opType === 'Gemm') {
      const c = n.input(2) ? g.constantOf(n.input(2)) : undefined;
      const nOut = n.getInt('transB', 0) === 1 ? wt.dims[0] : wt.dims[1];
      const plain = n.getInt('transA', 0) === 0 && n.getFloat('alpha', 1) === 1 && n.getFloat('beta', 1) === 1;
      if (!plain || (n.input(2) && (!c || c.dtype !== DataType.FLOAT || c.size !== nOut || c.dims.filter((d) => d !== 1).length > 1))) {
        skipped.push({ node: label, reason: 'Gemm bias is not a per-column vector with alpha = beta = 1' });
        continue;
      }
      out.push({ role, node: n, axis: 1, rank: 2, channels: nOut, output: y.name });
      continue;
    }
    const group = n.getInt('group', 1);
    const channels = n.opType === 'Conv' ? wt.dims[0] : wt.dims[1] * group;
    if (n.input(2)) {
      const b = g.constantOf(n.input(2));
      if (!b || b.dtype !== DataType.FLOAT || b.size !== channels) {
        skipped.push({ node: label, reason: 'bias is not a float32 constant' });
        continue;
      }
    }
    out.push({ role, node: n, axis: 1, rank: wt.rank, channels, output: y.name });
  }
  return out;
}

/** The float weights the quantized layer will use: W quantized as applyQdq() will, then dequantized. */
function dequantizedWeight(model: Model, t: Target, inputScale: number | undefined, options: QdqOptions): Float32Array {
  const g = model.graph;
  const wv = t.node.input(1)!;
  const w = g.constantOf(wv)!;
  const slot = t.role.weightSlots.find((s) => s.slot === 1)!;
  const dtype = weightDType(options, wv.name);
  const b = t.role.biasSlot !== undefined && inputScale !== undefined ? g.constantOf(t.node.input(t.role.biasSlot)) : undefined;
  const floor = b ? weightFloorForBias(b.toFloat32(), inputScale!) : undefined;
  const { q, scale, zeroPoint } = weightCodes(w.asFloat32(), w.dims, slot.axis, dtype, floor, options, wv.name);
  return slot.axis === undefined
    ? dequantizeAffine(q, scale[0], zeroPoint[0])
    : dequantizeAffine(q, scale, zeroPoint, { axis: slot.axis, shape: w.dims });
}

/**
 * The shadow model's bytes: a copy of `model` with each target's quantized twin and one output per target,
 * `<output>_bias_shift` of shape [C].
 */
function shadowModel(model: Model, list: Target[], plan: QdqPlan, qparams: ReadonlyMap<string, ActivationQParams>, options: QdqOptions): { bytes: Uint8Array; outputs: string[] } {
  const copy = loadModel(serializeModel(model), { baseDir: model.baseDir });
  const g = copy.graph;
  const fake = new Map<string, string>();
  const outputs: string[] = [];
  for (const t of list) {
    const n = g.values.get(t.output)!.producer!;
    const x = n.input(0)!;
    let xq = x;
    const p = options.weightOnly || !t.role.activationSlots.includes(0) ? undefined : resolveQParams(x.name, plan, qparams);
    if (p) {
      let name = fake.get(x.name);
      if (!name) {
        name = addQdqPair(g, x, p, '_bc').name;
        fake.set(x.name, name);
      }
      xq = g.values.get(name)!;
    }
    const w = g.constantOf(n.input(1))!;
    const wq = g.addInitializer(Tensor.fromFloat32(g.uniqueName(`${n.input(1)!.name}_bc_dequantized`), w.dims, dequantizedWeight(model, t, p?.scale, options)));
    const twin = g.addNode({
      opType: n.opType,
      name: g.uniqueName(`${n.name || t.output}_bc_twin`),
      inputs: [xq, wq, ...(n.input(2) ? [n.input(2)] : [])],
      outputs: [g.uniqueName(`${t.output}_bc_twin`)],
      attributes: [...n.attributes.values()],
    });
    const diff = g.addNode({ opType: 'Sub', name: g.uniqueName(`${t.output}_bc_sub`), inputs: [n.output(0), twin.output(0)], outputs: [g.uniqueName(`${t.output}_bc_diff`)] });
    const axes = Array.from({ length: t.rank }, (_, i) => i).filter((i) => i !== t.axis);
    const mean = g.addNode({
      opType: 'ReduceMean',
      name: g.uniqueName(`${t.output}_bc_mean`),
      inputs: [diff.output(0)],
      outputs: [g.uniqueName(`${t.output}_bias_shift`)],
      attributes: [
        { name: 'axes', type: 'ints', value: axes.map(BigInt) },
        { name: 'keepdims', type: 'int', value: 0n },
      ],
    });
    const out = mean.output(0)!;
    out.type = { kind: 'tensor', elemType: DataType.FLOAT, shape: [t.channels] };
    g.outputs.push(out);
    outputs.push(out.name);
  }
  raiseOpsetFor16Bit(copy);
  return { bytes: serializeModel(copy), outputs };
}

/**
 * Measures the output shift of every quantized Conv/ConvTranspose/Gemm of `plan` over `data` and adds it to
 * the layer's bias, in place (a bias is added where there is none, and the role gets its bias slot). Call it
 * after calibration (`qparams` holds every planned activation) and before applyQdq().
 */
export async function correctBiases(
  model: Model,
  plan: QdqPlan,
  qparams: ReadonlyMap<string, ActivationQParams>,
  qdqOptions: QdqOptions,
  data: CalibrationData,
  factory: ExecutorFactory,
  options: BiasCorrectionOptions = {},
): Promise<BiasCorrectionResult> {
  const skipped: BiasCorrectionResult['skipped'] = [];
  const list = targets(model, plan, skipped);
  if (list.length === 0) return { corrections: [], samples: 0, skipped };
  const { bytes, outputs } = shadowModel(model, list, plan, qparams, qdqOptions);
  const sums = list.map((t) => new Float64Array(t.channels));
  const exec: CalibrationExecutor = await factory(bytes);
  const samples = await passOverData(model, data, exec, outputs, 'bias correction', options, (result) => {
    list.forEach((_, k) => {
      const d = result[outputs[k]]?.data;
      if (!d || d.length !== sums[k].length) throw new OctetError('ERR_OCTET_CALIBRATION', `Bias correction: the executor returned no output '${outputs[k]}' of ${sums[k].length} values`);
      for (let c = 0; c < d.length; c++) sums[k][c] += d[c];
    });
  });
  const g = model.graph;
  const corrections: BiasCorrection[] = [];
  list.forEach((t, k) => {
    const shift = Float32Array.from(sums[k], (s) => s / samples);
    if (!shift.every(Number.isFinite)) {
      options.onWarning?.(`Bias correction: the output shift of '${t.node.name || t.node.id}' is not finite; bias left as it was`);
      return;
    }
    const n = t.node;
    const bv = n.input(2);
    if (bv) {
      const b = g.constantOf(bv)!;
      const nb = Float32Array.from(b.toFloat32(), (x, c) => x + shift[c]);
      const next = Tensor.fromFloat32('', b.dims, nb);
      if (bv.consumers.length === 1) g.setInitializer(bv, next);
      else {
        next.name = g.uniqueName(`${bv.name}_corrected`);
        n.setInput(2, g.addInitializer(next));
      }
      corrections.push({ node: n.name || n.id, bias: n.input(2)!.name, added: false, shift });
    } else {
      const v = g.addInitializer(Tensor.fromFloat32(g.uniqueName(`${n.name || t.output}_bias`), [t.channels], shift));
      n.setInput(2, v);
      // The planner gives a bias slot to Conv/ConvTranspose with a bias and to plain Gemm: so does this.
      if (!qdqOptions.weightOnly && t.role.activationSlots.includes(0)) t.role.biasSlot = 2;
      corrections.push({ node: n.name || n.id, bias: v.name, added: true, shift });
    }
  });
  return { corrections, samples, skipped };
}
