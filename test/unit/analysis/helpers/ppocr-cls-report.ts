/**
 * A SensitivityReport of the real PP-OCR orientation classifier, measured here with octet's runtime, for the
 * report renderer's tests. It is not the sensitivity analysis (src/analysis/sensitivity.ts does that); it
 * fills the same contract with cheap, real numbers:
 *
 * - the model: ppocr_cls.onnx quantized (static QDQ, per channel) by quantize() calibrated on two photos with
 *   octet's runtime; evaluated on two other photos;
 * - graph: the nodes of the final int8 model (after the small mixed-precision step below), precision from the
 *   graph's structure: Q/DQ nodes 'qdq'; a node of a quantizable op type reading a DequantizeLinear output
 *   'int8'; Conv/ConvTranspose/Gemm/MatMul reading none 'fp32'; the rest 'other';
 * - layers[].accumulated: the int8 model's node output (after its Q/DQ pair when it has one) against the fp32
 *   model's same tensor, both run by InferenceSession on the evaluation photos;
 * - layers[].isolated: a stand-in, labelled as such in models.int8: the fp32 node output passed through the
 *   node's own output quantization (its activation scale and zero point) and nothing else; ∞ for a node whose
 *   output is not quantized;
 * - histograms: fp32 and int8 values of the four layers with the worst accumulated SQNR, 64 bins;
 * - mixedPrecision: the two worst layers by accumulated SQNR excluded one after the other (re-quantized each
 *   time), worst output SQNR measured after each step; MACs from the weight shapes and the run's output shapes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { GraphNodeSummary, LayerSensitivity, SensitivityReport, TensorHistogram } from '../../../../src/analysis/types.js';
import type { Model } from '../../../../src/ir/model.js';
import { loadModel, serializeModel } from '../../../../src/onnx/io.js';
import { canonicalize } from '../../../../src/passes/manager.js';
import { dequantizeAffine, quantizeAffine } from '../../../../src/quantize/affine.js';
import { maxAbsError, mse, sqnr } from '../../../../src/quantize/metrics.js';
import type { QuantDType } from '../../../../src/quantize/qparams.js';
import { STATIC_OP_TYPES } from '../../../../src/quantize/qdq.js';
import { quantize, type QuantizeReport } from '../../../../src/quantize/quantize.js';
import { createOctetExecutor } from '../../../../src/runtime/calibration-executor.js';
import { InferenceSessionImpl } from '../../../../src/runtime/inference-session-impl.js';
import { Tensor } from '../../../../src/runtime/tensor.js';
import { MODELS_DIR, photoSample } from '../../quantize-graph/helpers/real-data.js';

export const CALIBRATION = ['astronaut.png', 'chelsea.png'];
export const EVALUATION = ['page.png', 'motorcycle_left.png'];
const QDQ = new Set(['QuantizeLinear', 'DequantizeLinear', 'DynamicQuantizeLinear']);
const COMPUTE = new Set(['Conv', 'ConvTranspose', 'Gemm', 'MatMul']);

/** Precision of each node of a quantized graph, read from its structure. */
export function graphSummary(model: Model): GraphNodeSummary[] {
  return model.graph.nodes.map((n) => {
    const fromDq = n.inputs.some((v) => v?.producer?.opType === 'DequantizeLinear');
    const precision: GraphNodeSummary['precision'] = QDQ.has(n.opType)
      ? 'qdq'
      : fromDq && STATIC_OP_TYPES.includes(n.opType)
        ? 'int8'
        : COMPUTE.has(n.opType)
          ? 'fp32'
          : 'other';
    return { name: n.name, opType: n.opType, precision, inputs: n.inputs.map((v) => v?.name ?? ''), outputs: n.outputs.map((v) => v?.name ?? '') };
  });
}

/** The tensor of the int8 model that carries `name` onward: the DequantizeLinear after its QuantizeLinear, if any. */
function dequantizedName(model: Model, name: string): string {
  const v = model.graph.lookup(name);
  const q = v?.consumers.find((c) => c.opType === 'QuantizeLinear');
  const dq = q?.outputs[0]?.consumers.find((c) => c.opType === 'DequantizeLinear');
  return dq?.outputs[0]?.name ?? name;
}

/** Runs a model on the evaluation photos and returns the named tensors, samples concatenated, with one sample's dims. */
async function runAll(model: Model, names: string[]): Promise<Map<string, { data: Float32Array; dims: readonly number[] }>> {
  const m = loadModel(serializeModel(model));
  const have = new Set(m.graph.outputs.map((v) => v.name));
  for (const name of names) {
    if (have.has(name)) continue;
    const v = m.graph.lookup(name);
    if (!v) throw new Error(`no tensor '${name}' in the model`);
    m.graph.addOutput(v);
    have.add(name);
  }
  const session = await InferenceSessionImpl.create(serializeModel(m));
  const parts = new Map<string, Float32Array[]>();
  const dims = new Map<string, readonly number[]>();
  try {
    for (const photo of EVALUATION) {
      const s = photoSample('ppocr_cls', photo).x;
      const out = await session.run({ x: new Tensor('float32', s.data as Float32Array, s.dims) });
      for (const name of names) {
        const t = out[name];
        (parts.get(name) ?? parts.set(name, []).get(name)!).push(t.data as Float32Array);
        dims.set(name, t.dims);
      }
    }
  } finally {
    await session.release();
  }
  const result = new Map<string, { data: Float32Array; dims: readonly number[] }>();
  for (const [name, list] of parts) {
    const data = new Float32Array(list.reduce((s, a) => s + a.length, 0));
    let at = 0;
    for (const a of list) {
      data.set(a, at);
      at += a.length;
    }
    result.set(name, { data, dims: dims.get(name)! });
  }
  return result;
}

function stats(ref: Float32Array, test: Float32Array): { sqnr: number; mse: number; maxAbsError: number } {
  return { sqnr: sqnr(ref, test), mse: mse(ref, test), maxAbsError: maxAbsError(ref, test) };
}

function histogram(node: string, tensor: string, ref: Float32Array, test: Float32Array, bins = 64): TensorHistogram {
  let lo = Infinity;
  let hi = -Infinity;
  for (const a of [ref, test]) for (const v of a) if (Number.isFinite(v)) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  if (!(hi > lo)) hi = lo + 1;
  const count = (a: Float32Array): number[] => {
    const c = new Array<number>(bins).fill(0);
    for (const v of a) if (Number.isFinite(v)) c[Math.min(bins - 1, Math.floor(((v - lo) / (hi - lo)) * bins))]++;
    return c;
  };
  return { node, tensor, range: [lo, hi], fp32: count(ref), int8: count(test) };
}

async function quantizeCls(bytes: Uint8Array, exclude: string[]): Promise<{ model: Model; report: QuantizeReport }> {
  return quantize(bytes, {
    calibration: CALIBRATION.map((p) => photoSample('ppocr_cls', p)),
    executor: createOctetExecutor,
    exclude,
    progress: false,
  });
}

export interface ClsReport {
  report: SensitivityReport;
  /** The all-int8 model the per-layer numbers come from. */
  int8: Model;
}

export async function ppocrClsReport(): Promise<ClsReport> {
  const started = performance.now();
  const bytes = new Uint8Array(readFileSync(join(MODELS_DIR, 'ppocr_cls.onnx')));
  const fp32 = loadModel(bytes);
  canonicalize(fp32);
  const { model: int8, report: qreport } = await quantizeCls(bytes, []);
  const summary = graphSummary(int8);
  const quantized = int8.graph.nodes.filter((n, i) => summary[i].precision === 'int8' && n.outputs[0]);
  const tensors = quantized.map((n) => n.outputs[0]!.name);
  const outputNames = fp32.graph.outputs.map((v) => v.name);
  const ref = await runAll(fp32, [...tensors, ...outputNames]);
  const got = await runAll(int8, [...tensors.map((t) => dequantizedName(int8, t)), ...outputNames]);

  const fp32Nodes = new Map(fp32.graph.nodes.map((n) => [n.name, n]));
  const activation = new Map(qreport.tensors.filter((t) => t.role === 'activation').map((t) => [t.tensor, t]));
  const macsOf = (name: string, outDims: readonly number[]): number => {
    const n = fp32Nodes.get(name);
    const w = n?.inputs[1]?.initializer?.dims;
    if (!n || !w || !COMPUTE.has(n.opType)) return 0;
    const outElems = outDims.reduce((a, b) => a * b, 1);
    if (n.opType === 'Conv') return outElems * w.slice(1).reduce((a, b) => a * b, 1);
    if (n.opType === 'MatMul') return outElems * w[0];
    return 0;
  };
  const layers: LayerSensitivity[] = quantized.map((n, i) => {
    const t = tensors[i];
    const r = ref.get(t)!;
    const g = got.get(dequantizedName(int8, t))!;
    const q = activation.get(t);
    let isolated = { sqnr: Infinity, mse: 0, maxAbsError: 0 };
    if (q && typeof q.scale === 'number') {
      const z = q.zeroPoint as number;
      const round = dequantizeAffine(quantizeAffine(r.data, q.scale, z, q.dtype as QuantDType), q.scale, z);
      isolated = stats(r.data, round);
    }
    return { node: n.name, opType: n.opType, tensor: t, macs: macsOf(n.name, r.dims), accumulated: stats(r.data, g.data), isolated };
  });
  layers.sort((a, b) => a.isolated.sqnr - b.isolated.sqnr);
  const outputs = outputNames.map((o) => ({ name: o, ...stats(ref.get(o)!.data, got.get(o)!.data) }));
  const byAccumulated = [...layers].sort((a, b) => a.accumulated.sqnr - b.accumulated.sqnr);
  const histograms = byAccumulated.slice(0, 4).map((l) => histogram(l.node, l.tensor, ref.get(l.tensor)!.data, got.get(dequantizedName(int8, l.tensor))!.data));
  const totalMacs = layers.reduce((s, l) => s + l.macs, 0);

  // A two-step greedy mixed-precision decision: the worst accumulated layers back to fp32, one at a time.
  const worstOutput = (m: Map<string, { data: Float32Array }>): number => Math.min(...outputNames.map((o) => sqnr(ref.get(o)!.data, m.get(o)!.data)));
  const before = worstOutput(got);
  const steps: { fp32Nodes: string[]; sqnr: number }[] = [];
  let final = int8;
  for (const k of [1, 2]) {
    const chosen = byAccumulated.slice(0, k).map((l) => l.node);
    const { model } = await quantizeCls(bytes, chosen);
    steps.push({ fp32Nodes: chosen, sqnr: worstOutput(await runAll(model, outputNames)) });
    final = model;
  }
  const kept = steps[steps.length - 1].fp32Nodes;
  const keptMacs = layers.filter((l) => kept.includes(l.node)).reduce((s, l) => s + l.macs, 0);
  const targetSqnr = 30;
  const after = steps[steps.length - 1].sqnr;
  return {
    int8,
    report: {
      models: { fp32: 'ppocr_cls.onnx', int8: 'ppocr_cls.int8.onnx (test fixture: isolated = output rounding only)' },
      samples: EVALUATION.length,
      layers,
      outputs,
      histograms,
      graph: graphSummary(final),
      totalMacs,
      mixedPrecision: { targetSqnr, met: after >= targetSqnr, fp32Nodes: kept, fp32MacFraction: totalMacs > 0 ? keptMacs / totalMacs : 0, before, after, steps },
      seconds: (performance.now() - started) / 1000,
    },
  };
}
