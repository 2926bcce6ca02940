/**
 * Plan pass: elementwise chains right after a float32 Conv become the Conv's epilogue (attributes `activation`,
 * `affineScale`, `affineBias`, see docs/plan-format.md), so the convolution writes the final value in one pass
 * instead of 4–6 more passes over memory:
 *
 * - HardSwish, as an op or spelled out: y · clip(y + 3, 0, 6) / 6 (Add, Clip or a clamped Add, Mul, Div by 6 or
 *   Mul by 1/6) — PaddlePaddle's exports (PP-OCR) write it so;
 * - then a scalar affine: Mul by a constant scalar and/or Add of a constant scalar (PP-LCNet's learnable affine
 *   blocks).
 *
 * Only where every intermediate value is float32, of the Conv's output shape, used by the chain alone and not a
 * plan output. The intermediate values stay in `plan.values` unproduced and unused (the executor lays out only
 * values that live).
 *
 * Also a Relu right after an Add/Sub/Mul (a residual join) becomes the binary op's fused clamp (activationMin 0):
 * float32, or int8/uint8 when the Relu keeps its input's quantization (then it is max(q, zero point), which is what
 * the clamp computes). A Relu that requantizes stays: folding it would round once where the QDQ file rounds twice.
 */
import type { Plan, PlanNode, PlanValue } from '../runtime/plan.js';

/** Reads a constant float32 scalar (any shape of one element). */
function scalar(v: PlanValue | undefined): number | undefined {
  if (!v?.data || v.dtype !== 'float32' || v.data.length !== 1) return undefined;
  return Number(v.data[0]);
}

function sameQuant(a: PlanValue, b: PlanValue): boolean {
  if (!a.quant || !b.quant) return !a.quant && !b.quant;
  const eq = (x: ArrayLike<number>, y: ArrayLike<number>) => x.length === y.length && Array.from(x).every((v, i) => v === y[i]);
  return a.quant.axis === b.quant.axis && eq(a.quant.scale, b.quant.scale) && eq(a.quant.zeroPoint, b.quant.zeroPoint);
}

/** Relu after Add/Sub/Mul → the binary op's activationMin 0 (see above). */
function fuseBinaryRelu(plan: Plan, consumers: Map<number, PlanNode[]>, outputs: Set<number>, removed: Set<PlanNode>): number {
  let fused = 0;
  for (const n of plan.nodes) {
    if (!['Add', 'Sub', 'Mul'].includes(n.op) || removed.has(n) || n.outputs.length !== 1) continue;
    const y = n.outputs[0];
    const users = consumers.get(y);
    if (outputs.has(y) || users?.length !== 1) continue;
    const relu = users[0];
    if (relu.op !== 'Relu' || removed.has(relu) || !noAttrs(relu) || relu.inputs.length !== 1 || relu.backend !== undefined) continue;
    const vy = plan.values[y], vr = plan.values[relu.outputs[0]];
    if (vy.dtype !== vr.dtype || vy.shape.length !== vr.shape.length || !vy.shape.every((d, i) => d === vr.shape[i])) continue;
    if (vy.dtype !== 'float32' && !((vy.dtype === 'int8' || vy.dtype === 'uint8') && vy.quant?.scale.length === 1 && sameQuant(vy, vr))) continue;
    const min = n.attrs?.activationMin;
    n.attrs = { ...(n.attrs ?? {}), activationMin: typeof min === 'number' ? Math.max(min, 0) : 0 };
    n.outputs = [relu.outputs[0]];
    removed.add(relu);
    fused++;
  }
  return fused;
}

function noAttrs(n: PlanNode): boolean {
  return n.attrs === undefined || Object.keys(n.attrs).length === 0;
}

export function fuseConvEpilogues(plan: Plan): number {
  const consumers = new Map<number, PlanNode[]>();
  for (const n of plan.nodes) {
    for (const id of n.inputs) {
      if (id < 0) continue;
      const list = consumers.get(id) ?? [];
      if (!list.includes(n)) list.push(n);
      consumers.set(id, list);
    }
  }
  const outputs = new Set(plan.outputs);
  const removed = new Set<PlanNode>();
  let fused = 0;

  for (const conv of plan.nodes) {
    if (conv.op !== 'Conv' || removed.has(conv) || conv.outputs.length !== 1) continue;
    const y0 = conv.outputs[0];
    const shape = plan.values[y0].shape;
    if (plan.values[y0].dtype !== 'float32' || conv.attrs?.activation !== undefined) continue;
    /** A float32 value the chain may pass through: the Conv's shape, not a plan output, used only by `users`. */
    const inner = (id: number, users: number): boolean => {
      const v = plan.values[id];
      return !outputs.has(id) && !v.data && v.dtype === 'float32' && v.shape.length === shape.length &&
        v.shape.every((d, i) => d === shape[i]) && (consumers.get(id)?.length ?? 0) === users;
    };
    /** The other input of a binary node when it is a constant scalar. */
    const constOperand = (n: PlanNode, x: number): number | undefined => {
      if (n.inputs.length !== 2) return undefined;
      const [a, b] = n.inputs;
      if (a === x) return scalar(plan.values[b]);
      if (b === x) return scalar(plan.values[a]);
      return undefined;
    };
    const only = (id: number): PlanNode | undefined => {
      const c = consumers.get(id);
      return c?.length === 1 ? c[0] : undefined;
    };

    const chain: PlanNode[] = [];
    let cur = y0;
    let hardSwish = false;
    // HardSwish as an op.
    const h = only(cur);
    if (inner(cur, 1) && h?.op === 'HardSwish' && noAttrs(h) && h.inputs[0] === cur) {
      chain.push(h);
      cur = h.outputs[0];
      hardSwish = true;
    } else if (inner(cur, 2)) {
      // Spelled out: Add(y, 3) [→ Clip(0, 6)] → Mul(y, ·) → Div(·, 6) | Mul(·, 1/6).
      const [p, q] = consumers.get(cur)!;
      const add = p.op === 'Add' ? p : q;
      const mul = add === p ? q : p;
      const clamped = add.attrs?.activationMin === 0 && add.attrs?.activationMax === 6 && Object.keys(add.attrs).length === 2;
      if (add.op === 'Add' && mul.op === 'Mul' && noAttrs(mul) && constOperand(add, cur) === 3 && (clamped || noAttrs(add))) {
        let gate = add.outputs[0];
        const steps: PlanNode[] = [add];
        let ok = inner(gate, 1);
        if (ok && !clamped) {
          const clip = only(gate)!;
          ok = clip.op === 'Clip' && clip.inputs.length === 1 && clip.attrs?.min === 0 && clip.attrs?.max === 6 &&
            Object.keys(clip.attrs).length === 2 && inner(clip.outputs[0], 1);
          if (ok) {
            steps.push(clip);
            gate = clip.outputs[0];
          }
        }
        ok = ok && only(gate) === mul && mul.inputs.includes(cur) && mul.inputs.includes(gate) && inner(mul.outputs[0], 1);
        const div = ok ? only(mul.outputs[0])! : undefined;
        if (div && noAttrs(div) && div.inputs[0] === mul.outputs[0]) {
          const c = scalar(plan.values[div.inputs[1]]);
          const sixth = (div.op === 'Div' && c === 6) || (div.op === 'Mul' && c !== undefined && Math.abs(c - 1 / 6) < 1e-7);
          if (sixth) {
            chain.push(...steps, mul, div);
            cur = div.outputs[0];
            hardSwish = true;
          }
        }
      }
    }
    // Then a scalar affine: Mul by s, Add of b (either or both, in this order).
    let scale = 1;
    let bias = 0;
    const next = (op: string): { node: PlanNode; c: number } | undefined => {
      const n = only(cur);
      if (!n || n.op !== op || !noAttrs(n) || !inner(cur, 1)) return undefined;
      const c = constOperand(n, cur);
      return c === undefined || !Number.isFinite(c) ? undefined : { node: n, c };
    };
    const m = next('Mul');
    if (m) {
      chain.push(m.node);
      scale = m.c;
      cur = m.node.outputs[0];
    }
    const a = next('Add');
    if (a) {
      chain.push(a.node);
      bias = a.c;
      cur = a.node.outputs[0];
    }
    if (chain.length === 0) continue;
    // The last value of the chain must have the Conv's shape too (it may be a plan output).
    const last = plan.values[cur];
    if (last.dtype !== 'float32' || last.shape.length !== shape.length || !last.shape.every((d, i) => d === shape[i])) continue;
    conv.attrs = { ...(conv.attrs ?? {}), ...(hardSwish ? { activation: 'HardSwish' } : {}), ...(scale !== 1 ? { affineScale: scale } : {}), ...(bias !== 0 ? { affineBias: bias } : {}) };
    conv.outputs = [cur];
    for (const n of chain) removed.add(n);
    fused++;
  }
  fused += fuseBinaryRelu(plan, consumers, outputs, removed);
  if (removed.size > 0) plan.nodes = plan.nodes.filter((n) => !removed.has(n));
  return fused;
}
