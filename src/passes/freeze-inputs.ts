/**
 * freeze-inputs: graph inputs named in options.freezeInputs become constants (only when asked: it changes
 * the model's signature). A VAD's sample-rate input frozen to 16000 lets If inlining and constant folding
 * remove the branch for the other rate.
 *
 *   Before:  inputs (x, sr);  c = Equal(sr, 16000);  If(c) ...
 *   After:   inputs (x);      initializer sr = 16000;  ...
 */
import { DataType } from '../onnx/dtype.js';
import { Tensor } from '../ir/tensor.js';
import type { Value } from '../ir/value.js';
import type { Pass } from './pass.js';

function toTensor(v: Value, value: NonNullable<import('./pass.js').CanonicalizeOptions['freezeInputs']>[string]): Tensor {
  if (value instanceof Tensor) return value.clone(v.name);
  const dtype = v.elemType ?? DataType.FLOAT;
  const shape = v.shape;
  const list = typeof value === 'number' || typeof value === 'bigint' ? [value] : [...value];
  const dims = shape && shape.every((d) => typeof d === 'number') && shape.reduce<number>((a, d) => a * (d as number), 1) === list.length ? (shape as number[]) : typeof value === 'number' || typeof value === 'bigint' ? [] : [list.length];
  if (dtype === DataType.INT64) return Tensor.fromInt64(v.name, dims, list);
  return Tensor.fromNumbers(v.name, dtype, dims, list.map(Number));
}

export const freezeInputs: Pass<Value> = {
  name: 'freeze-inputs',
  description: 'graph inputs given in options.freezeInputs become constants',
  once: true,
  match(graph, ctx) {
    const wanted = ctx.options.freezeInputs ?? {};
    if (graph.parentNode) return [];
    for (const name of Object.keys(wanted)) {
      if (!graph.inputs.some((v) => v.name === name)) {
        throw new RangeError(`Unknown graph input '${name}' in options.freezeInputs; inputs are ${graph.inputs.map((v) => `'${v.name}'`).join(', ')}`);
      }
    }
    return graph.inputs.filter((v) => v.name in wanted);
  },
  rewrite(v, graph, ctx) {
    const t = toTensor(v, ctx.options.freezeInputs![v.name]);
    graph.inputs.splice(graph.inputs.indexOf(v), 1);
    v.initializer = undefined;
    graph.setInitializer(v, t);
    return `input '${v.name}' frozen to ${t.dtype === DataType.STRING ? 'a string tensor' : `[${t.toNumbers().slice(0, 8).join(', ')}]`}`;
  },
};
