/**
 * Small models built through the IR, for pass tests.
 */
import { Graph } from '../../../../src/ir/graph.js';
import { Model } from '../../../../src/ir/model.js';
import type { Attribute } from '../../../../src/ir/node.js';
import { Tensor } from '../../../../src/ir/tensor.js';
import { tensorType, type Dim } from '../../../../src/ir/value.js';
import { rng } from '../../../helpers/random.js';

export function newModel(opset: number): { model: Model; g: Graph } {
  const g = new Graph('test');
  const model = new Model(g);
  model.opsetImports = [{ domain: '', version: opset }];
  model.irVersion = opset >= 13 ? 7 : 6;
  return { model, g };
}

export function input(g: Graph, name: string, shape: Dim[], elem = 1) {
  return g.addInput(name, tensorType(elem, shape));
}

export function output(g: Graph, name: string, elem = 1, shape?: Dim[]) {
  const v = g.values.get(name)!;
  v.type = tensorType(elem, shape);
  g.addOutput(v);
  return v;
}

export function randomTensor(name: string, dims: number[], seed = 1, lo = -1, hi = 1): Tensor {
  const r = rng(seed);
  const n = dims.reduce((a, b) => a * b, 1);
  return Tensor.fromFloat32(name, dims, Array.from({ length: n }, () => lo + (hi - lo) * r()));
}

export const ints = (name: string, values: number[]): Attribute => ({ name, type: 'ints', value: values.map(BigInt) });
export const int = (name: string, value: number): Attribute => ({ name, type: 'int', value: BigInt(value) });
export const float = (name: string, value: number): Attribute => ({ name, type: 'float', value: Math.fround(value) });
export const str = (name: string, value: string): Attribute => ({ name, type: 'string', value: new TextEncoder().encode(value) });

export function randomInput(shape: number[], seed = 7): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r() * 2 - 1);
}
