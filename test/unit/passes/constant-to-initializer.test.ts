import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { loadModel, saveModel } from '../../../src/onnx/io.js';
import { Tensor } from '../../../src/ir/tensor.js';
import { canonicalize } from '../../../src/passes/manager.js';
import { input, newModel, output } from '../onnx/helpers/build.js';
import { realModel } from '../onnx/helpers/onnx.js';
import { compareModels } from '../onnx/helpers/ort.js';
import { realFeeds } from '../onnx/helpers/real-inputs.js';

describe('constant-to-initializer', () => {
  it('leaves a Constant that is a graph output, and string constants', () => {
    const { model, g } = newModel(13);
    input(g, 'x', [2]);
    g.addNode({ opType: 'Constant', inputs: [], outputs: ['c'], attributes: [{ name: 'value', type: 'tensor', value: Tensor.fromFloat32('', [2], [1, 2]) }] });
    g.addNode({ opType: 'Constant', inputs: [], outputs: ['s'], attributes: [{ name: 'value_strings', type: 'strings', value: [new Uint8Array([97])] }] });
    g.addNode({ opType: 'Identity', inputs: ['s'], outputs: ['t'] });
    output(g, 'c');
    output(g, 't', 8);
    const [report] = canonicalize(model, { passes: ['constant-to-initializer'] });
    expect(report.changes).toEqual([]);
    expect(g.nodes.map((n) => n.opType)).toEqual(['Constant', 'Constant', 'Identity']);
  });

  it('turns value_float, value_ints and tensor values into initializers of the right type', () => {
    const { model, g } = newModel(13);
    input(g, 'x', [3]);
    g.addNode({ opType: 'Constant', inputs: [], outputs: ['f'], attributes: [{ name: 'value_float', type: 'float', value: 0.5 }] });
    g.addNode({ opType: 'Constant', inputs: [], outputs: ['i'], attributes: [{ name: 'value_ints', type: 'ints', value: [1n, 2n, 3n] }] });
    g.addNode({ opType: 'Mul', inputs: ['x', 'f'], outputs: ['m'] });
    g.addNode({ opType: 'Cast', inputs: ['i'], outputs: ['ci'], attributes: [{ name: 'to', type: 'int', value: 1n }] });
    g.addNode({ opType: 'Add', inputs: ['m', 'ci'], outputs: ['y'] });
    output(g, 'y');
    const [report] = canonicalize(model, { passes: ['constant-to-initializer'] });
    expect(report.changes).toEqual(["Constant 'f' (float32 []) -> initializer", "Constant 'i' (int64 [3]) -> initializer"]);
    expect(g.values.get('f')!.initializer!.toNumbers()).toEqual([0.5]);
    expect(g.values.get('i')!.initializer!.asInt64()).toEqual(BigInt64Array.of(1n, 2n, 3n));
  });

  for (const name of ['ppocr_det', 'ppocr_rec', 'ppocr_cls', 'silero_vad_v5'] as const) {
    it(`moves every weight of ${name} into initializers with identical outputs`, async () => {
      const bytes = new Uint8Array(readFileSync(realModel(name)));
      const model = loadModel(bytes);
      const before = [...model.graph.allNodes()].filter((n) => n.opType === 'Constant').length;
      const [report] = canonicalize(model, { passes: ['constant-to-initializer'] });
      expect(report.changes.length).toBe(before);
      expect([...model.graph.allNodes()].filter((n) => n.opType === 'Constant')).toHaveLength(0);
      const errors = await compareModels(bytes, saveModel(model), realFeeds(name));
      for (const err of Object.values(errors)) expect(err).toBe(0);
    });
  }
});
