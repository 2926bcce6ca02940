/**
 * expand-batchnorm: a BatchNormalization (inference) that canonicalize could not fold into a Conv becomes a
 * per-channel Mul and Add, which the runtime has. It happens in quantized models: onnxruntime's quantizer
 * leaves PP-OCR det's ConvTranspose + Add + BatchNormalization unfused and puts QuantizeLinear/DequantizeLinear
 * between them.
 *
 *   Before:  y = BatchNormalization(x, gamma, beta, mean, var; epsilon)
 *   After:   y = Add(Mul(x, s), t)     s = gamma / sqrt(var + eps), t = beta − s·mean, both shaped [C, 1, …, 1]
 *
 * Applies when the four parameters are float32 constants of C values (or DequantizeLinear of constants: onnxruntime
 * quantizes such a node's scale and bias too), the rank of x is known and the node has one
 * output (training_mode 0); otherwise the node stays and is reported unsupported. Arithmetic in float64.
 */
import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import type { Value } from '../ir/value.js';
import { Tensor } from '../ir/tensor.js';
import { DataType } from '../onnx/dtype.js';

/** The values of a 1-D float parameter: a float32 constant, or DequantizeLinear((x − z)·s) of constants. */
function parameter(g: Graph, v: Value | null): Float32Array | undefined {
  const t = g.constantOf(v);
  if (t) return t.dtype === DataType.FLOAT ? t.asFloat32() : undefined;
  const dq = v?.producer;
  if (!dq || dq.opType !== 'DequantizeLinear' || (dq.domain !== '' && dq.domain !== 'ai.onnx')) return undefined;
  const [x, scale, zero] = [0, 1, 2].map((i) => g.constantOf(dq.input(i)));
  if (!x || !scale || scale.dtype !== DataType.FLOAT || (dq.input(2) && !zero) || x.rank > 1) return undefined;
  const q = x.toNumbers();
  const sc = scale.asFloat32();
  const z = zero ? zero.toNumbers() : [0];
  if ((sc.length !== 1 && sc.length !== q.length) || (z.length !== 1 && z.length !== q.length)) return undefined;
  return Float32Array.from(q, (qi, i) => (qi - z[z.length === 1 ? 0 : i]) * sc[sc.length === 1 ? 0 : i]);
}

/** s and t of an expandable BatchNormalization, with the rank of its input; undefined when it does not apply. */
function parameters(g: Graph, n: Node): { s: Float32Array; t: Float32Array; rank: number } | undefined {
  if (n.getInt('training_mode', 0) !== 0 || n.outputs.filter((o) => o !== null).length !== 1 || n.output(0) === null) return undefined;
  const rank = n.input(0)?.shape?.length;
  if (rank === undefined || rank < 2) return undefined;
  const p = [1, 2, 3, 4].map((i) => parameter(g, n.input(i)));
  if (p.some((t) => !t || t.length !== p[0]!.length)) return undefined;
  const [gamma, beta, mean, variance] = p as Float32Array[];
  const eps = Math.fround(n.getFloat('epsilon', 1e-5));
  const s = new Float32Array(gamma.length);
  const t = new Float32Array(gamma.length);
  for (let c = 0; c < gamma.length; c++) {
    const sc = gamma[c] / Math.sqrt(variance[c] + eps);
    s[c] = sc;
    t[c] = beta[c] - sc * mean[c];
  }
  return { s, t, rank };
}

/** Whether expandBatchNorm will rewrite `n` (for the create()-time support check). */
export function isExpandableBatchNorm(g: Graph, n: Node): boolean {
  return parameters(g, n) !== undefined;
}

/** Rewrites every expandable BatchNormalization of the graph; returns how many. */
export function expandBatchNorm(g: Graph): number {
  let count = 0;
  for (const n of [...g.nodes]) {
    if ((n.domain !== '' && n.domain !== 'ai.onnx') || n.opType !== 'BatchNormalization') continue;
    const p = parameters(g, n);
    if (!p) continue;
    const base = n.name || 'BatchNormalization';
    const dims = [p.s.length, ...new Array<number>(p.rank - 2).fill(1)];
    const s = g.addInitializer(Tensor.fromFloat32(g.uniqueName(`${base}_scale`), dims, p.s));
    const t = g.addInitializer(Tensor.fromFloat32(g.uniqueName(`${base}_shift`), dims, p.t));
    const scaled = g.uniqueName(`${base}_scaled`);
    g.addNode({ opType: 'Mul', name: g.uniqueName(`${base}_mul`), inputs: [n.input(0), s], outputs: [scaled], before: n });
    const add = g.addNode({ opType: 'Add', name: g.uniqueName(`${base}_add`), inputs: [scaled, t], outputs: [g.uniqueName(`${base}_tmp`)], before: n });
    const y = n.output(0)!;
    const params = n.inputs.slice(1);
    g.removeNode(n);
    const tmp = add.output(0)!;
    add.setOutput(0, y);
    g.dropIfUnused(tmp);
    const unused = (v: Value | null): v is Value => !!v && v.consumers.length === 0 && !g.inputs.includes(v) && !g.outputs.includes(v);
    for (const v of params) {
      const dq = v?.producer;
      if (dq && unused(v)) {
        const inputs = [...dq.inputs];
        g.removeNode(dq);
        for (const x of inputs) if (unused(x) && x.initializer) g.removeInitializer(x);
      } else if (unused(v) && v.initializer) g.removeInitializer(v);
    }
    count++;
  }
  return count;
}
