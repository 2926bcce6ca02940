import { describe, expect, it } from 'vitest';

import { saveModel } from '../../../src/onnx/io.js';
import { Tensor } from '../../../src/ir/tensor.js';
import { canonicalize } from '../../../src/passes/manager.js';
import { input, newModel, output, randomInput } from '../onnx/helpers/build.js';
import { compareModels, ort } from '../onnx/helpers/ort.js';

describe('eliminate-identity', () => {
  it('keeps a Dropout whose mask is used, and one in training mode', () => {
    const { model, g } = newModel(13);
    input(g, 'x', [4]);
    input(g, 'train', [], 9);
    g.addNode({ opType: 'Dropout', inputs: ['x'], outputs: ['a', 'mask'] });
    g.addNode({ opType: 'Dropout', inputs: ['a', '', 'train'], outputs: ['y'] });
    output(g, 'y');
    output(g, 'mask', 9);
    const [report] = canonicalize(model, { passes: ['eliminate-identity'] });
    expect(report.changes).toEqual([]);
  });

  it('keeps an Identity that passes a graph input straight to a graph output', () => {
    const { model, g } = newModel(13);
    input(g, 'x', [4]);
    g.addNode({ opType: 'Identity', inputs: ['x'], outputs: ['y'] });
    output(g, 'y');
    const [report] = canonicalize(model, { passes: ['eliminate-identity'] });
    expect(report.changes).toEqual([]);
    expect(g.nodes).toHaveLength(1);
  });

  it('removes Identity chains and inference Dropout, renaming into a graph output', async () => {
    const { model, g } = newModel(13);
    input(g, 'x', [2, 3]);
    g.addInitializer(Tensor.fromNumbers('no', 9, [], [0]));
    g.addNode({ opType: 'Relu', inputs: ['x'], outputs: ['r'] });
    g.addNode({ opType: 'Identity', inputs: ['r'], outputs: ['i1'] });
    g.addNode({ opType: 'Dropout', inputs: ['i1', '', 'no'], outputs: ['d', 'unused_mask'] });
    g.addNode({ opType: 'Identity', inputs: ['d'], outputs: ['i2'] });
    g.addNode({ opType: 'Sigmoid', inputs: ['i2'], outputs: ['s'] });
    g.addNode({ opType: 'Identity', inputs: ['s'], outputs: ['y'] });
    output(g, 'y', 1, [2, 3]);
    const before = saveModel(model);
    const [report] = canonicalize(model, { passes: ['eliminate-identity'] });
    expect(report.changes).toHaveLength(4);
    expect(g.nodes.map((n) => `${n.opType}:${n.output(0)!.name}`)).toEqual(['Relu:r', 'Sigmoid:y']);
    expect(g.outputs[0].shape).toEqual([2, 3]);
    const errors = await compareModels(before, saveModel(model), { x: new ort.Tensor('float32', randomInput([2, 3]), [2, 3]) });
    expect(errors.y).toBe(0);
  });
});
