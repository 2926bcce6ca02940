import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { loadModel, saveModel } from '../../../src/onnx/io.js';
import { Tensor } from '../../../src/ir/tensor.js';
import { canonicalize, runPass } from '../../../src/passes/manager.js';
import { tagActivations } from '../../../src/passes/tag-activations.js';
import type { FusedActivation } from '../../../src/passes/tag-activations.js';
import { float, input, newModel, output, randomTensor } from '../onnx/helpers/build.js';
import { realModel } from '../onnx/helpers/onnx.js';

describe('tag-activations', () => {
  it('does not tag when the Conv output has another use', () => {
    const { model, g } = newModel(13);
    input(g, 'x', [1, 2, 4, 4]);
    g.addInitializer(randomTensor('w', [2, 2, 1, 1], 1));
    g.addNode({ opType: 'Conv', inputs: ['x', 'w'], outputs: ['c'] });
    g.addNode({ opType: 'Relu', inputs: ['c'], outputs: ['r'] });
    g.addNode({ opType: 'Add', inputs: ['r', 'c'], outputs: ['y'] });
    output(g, 'y');
    const [report] = canonicalize(model, { passes: ['tag-activations'] });
    expect(report.changes).toEqual([]);
  });

  it('tags Relu, Clip bounds, LeakyRelu and the spelled-out HardSwish without changing the graph', () => {
    const { model, g } = newModel(13);
    input(g, 'x', [1, 2, 4, 4]);
    g.addInitializer(randomTensor('w', [2, 2, 1, 1], 1));
    g.addInitializer(Tensor.fromFloat32('zero', [], [0]));
    g.addInitializer(Tensor.fromFloat32('six', [], [6]));
    g.addInitializer(Tensor.fromFloat32('three', [], [3]));
    g.addNode({ opType: 'Conv', name: 'c1', inputs: ['x', 'w'], outputs: ['c1'] });
    g.addNode({ opType: 'Relu', inputs: ['c1'], outputs: ['a1'] });
    g.addNode({ opType: 'Conv', name: 'c2', inputs: ['a1', 'w'], outputs: ['c2'] });
    g.addNode({ opType: 'Clip', inputs: ['c2', 'zero', 'six'], outputs: ['a2'] });
    g.addNode({ opType: 'Conv', name: 'c3', inputs: ['a2', 'w'], outputs: ['c3'] });
    g.addNode({ opType: 'LeakyRelu', inputs: ['c3'], outputs: ['a3'], attributes: [float('alpha', 0.1)] });
    g.addNode({ opType: 'Conv', name: 'c4', inputs: ['a3', 'w'], outputs: ['c4'] });
    g.addNode({ opType: 'Add', inputs: ['c4', 'three'], outputs: ['p'] });
    g.addNode({ opType: 'Clip', inputs: ['p', 'zero', 'six'], outputs: ['q'] });
    g.addNode({ opType: 'Mul', inputs: ['c4', 'q'], outputs: ['r'] });
    g.addNode({ opType: 'Div', inputs: ['r', 'six'], outputs: ['y'] });
    output(g, 'y');
    const before = saveModel(model);
    const report = { changes: runPass(tagActivations as never, model) };
    expect(report.changes).toEqual(["Conv 'c1' + Relu", "Conv 'c2' + Clip(min=0, max=6)", "Conv 'c3' + LeakyRelu(alpha=0.1)", "Conv 'c4' + HardSwish"]);
    const tag = g.nodes.find((n) => n.name === 'c4')!.tags.fusedActivation as FusedActivation;
    expect(tag.nodes.map((n) => n.opType)).toEqual(['Add', 'Clip', 'Mul', 'Div']);
    expect(tag.output.name).toBe('y');
    expect(Buffer.from(saveModel(model)).equals(Buffer.from(before))).toBe(true);
  });

  it('tags the PP-OCR classifier convolutions (HardSwish, Relu, HardSigmoid)', () => {
    const model = loadModel(new Uint8Array(readFileSync(realModel('ppocr_cls'))));
    const report = canonicalize(model);
    const tags = report.find((r) => r.name === 'tag-activations')!.changes;
    const kinds = new Set(tags.map((t) => t.split(' + ')[1].replace(/\(.*/, '')));
    expect([...kinds].sort()).toEqual(['HardSigmoid', 'HardSwish', 'Relu']);
  });
});
