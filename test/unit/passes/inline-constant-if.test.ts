import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { Graph } from '../../../src/ir/graph.js';
import { Tensor } from '../../../src/ir/tensor.js';
import { tensorType } from '../../../src/ir/value.js';
import { loadModel, saveModel } from '../../../src/onnx/io.js';
import { canonicalize } from '../../../src/passes/manager.js';
import { input, newModel, output, randomInput } from '../onnx/helpers/build.js';
import { realModel } from '../onnx/helpers/onnx.js';
import { compareModels, ort } from '../onnx/helpers/ort.js';
import { realFeeds } from '../onnx/helpers/real-inputs.js';

function branch(name: string, op: string, outerInput: string): Graph {
  const b = new Graph(name);
  b.addInitializer(Tensor.fromFloat32('k', [1], [2]));
  b.addNode({ opType: 'Mul', inputs: [outerInput, 'k'], outputs: [`${name}_m`] });
  b.addNode({ opType: op, inputs: [`${name}_m`], outputs: [`${name}_out`] });
  b.outputs.push(b.values.get(`${name}_out`)!);
  b.values.get(`${name}_out`)!.type = tensorType(1, undefined);
  return b;
}

function ifModel(cond: boolean | 'input') {
  const { model, g } = newModel(13);
  const x = input(g, 'x', [2, 3]);
  if (cond === 'input') input(g, 'c', [], 9);
  else g.addInitializer(Tensor.fromNumbers('c', 9, [], [cond ? 1 : 0]));
  const node = g.addNode({ opType: 'If', name: 'if0', inputs: ['c'], outputs: ['y'] });
  const thenB = branch('then', 'Relu', 'x');
  const elseB = branch('else', 'Sigmoid', 'x');
  thenB.parentNode = node;
  elseB.parentNode = node;
  // Resolve the outer reference: subgraph nodes read x of the main graph.
  for (const b of [thenB, elseB]) {
    const mul = b.nodes[0];
    b.values.delete('x');
    mul.setInput(0, x);
  }
  node.setAttr({ name: 'then_branch', type: 'graph', value: thenB });
  node.setAttr({ name: 'else_branch', type: 'graph', value: elseB });
  output(g, 'y');
  return { model, g };
}

describe('inline-constant-if', () => {
  it('leaves an If whose condition is a graph input', () => {
    const { model } = ifModel('input');
    const [report] = canonicalize(model, { passes: ['inline-constant-if'] });
    expect(report.changes).toEqual([]);
  });

  for (const cond of [true, false]) {
    it(`inlines the ${cond ? 'then' : 'else'} branch of a constant ${cond} condition`, async () => {
      const { model, g } = ifModel(cond);
      const before = saveModel(model);
      const [report] = canonicalize(model, { passes: ['inline-constant-if'] });
      expect(report.changes).toEqual([`If 'if0': condition is ${cond}, 2 node(s) of '${cond ? 'then' : 'else'}' inlined`]);
      expect(g.nodes.map((n) => n.opType)).toEqual(['Mul', cond ? 'Relu' : 'Sigmoid']);
      expect(g.outputs[0].producer?.opType).toBe(cond ? 'Relu' : 'Sigmoid');
      const errors = await compareModels(before, saveModel(model), { x: new ort.Tensor('float32', randomInput([2, 3]), [2, 3]) });
      expect(errors.y).toBe(0);
    });
  }

  for (const name of ['silero_vad_v5', 'silero_vad_op18_ifless'] as const) {
    it(`removes the sample-rate If of ${name} once sr is frozen to 16000`, async () => {
      const bytes = new Uint8Array(readFileSync(realModel(name)));
      const model = loadModel(bytes);
      const report = canonicalize(model, { passes: ['freeze-inputs', 'constant-to-initializer', 'fold-constants', 'inline-constant-if', 'eliminate-dead-nodes'], freezeInputs: { sr: 16000 } });
      expect(report.find((r) => r.name === 'inline-constant-if')!.changes[0]).toMatch(/condition is true/);
      expect(model.graph.inputs.map((v) => v.name)).toEqual(['input', 'state']);
      const errors = await compareModels(bytes, saveModel(model), realFeeds(name));
      // Folding the STFT padding computations rounds float ops once, as onnxruntime would.
      for (const err of Object.values(errors)) expect(err).toBeLessThanOrEqual(1e-5);
    });
  }
});
