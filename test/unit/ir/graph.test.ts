import { describe, expect, it } from 'vitest';

import { Graph } from '../../../src/ir/graph.js';
import { Model } from '../../../src/ir/model.js';
import { Tensor } from '../../../src/ir/tensor.js';
import { tensorType } from '../../../src/ir/value.js';
import { verifyModel } from '../../../src/ir/verify.js';
import { OnnxError } from '../../../src/onnx/errors.js';
import { loadModel, saveModel } from '../../../src/onnx/io.js';
import { realModel } from '../onnx/helpers/onnx.js';

function chain(): { g: Graph; model: Model } {
  const g = new Graph('g');
  const model = new Model(g);
  g.addInput('x', tensorType(1, [2]));
  g.addNode({ opType: 'Relu', name: 'a', inputs: ['x'], outputs: ['r'] });
  g.addNode({ opType: 'Sigmoid', name: 'b', inputs: ['r'], outputs: ['s'] });
  g.addNode({ opType: 'Add', name: 'c', inputs: ['r', 's'], outputs: ['y'] });
  g.addOutput(g.values.get('y')!);
  return { g, model };
}

describe('Graph: invalid use', () => {
  it('refuses a second producer for a value, naming both', () => {
    const { g } = chain();
    expect(() => g.addNode({ opType: 'Neg', inputs: ['x'], outputs: ['r'] })).toThrow(OnnxError);
    expect(() => g.addNode({ opType: 'Neg', inputs: ['x'], outputs: ['r'] })).toThrow("Value 'r' is already produced by node Relu 'a'");
  });

  it('refuses to remove a node of another graph and to rename onto a taken name', () => {
    const { g } = chain();
    const other = chain().g;
    expect(() => g.removeNode(other.nodes[0])).toThrow("Node Relu 'a' is not in this graph");
    expect(() => g.renameValue(g.values.get('r')!, 's')).toThrow("Cannot rename 'r' to 's': the name is taken");
  });
});

describe('Graph', () => {
  it('keeps producer and consumer maps through edits', () => {
    const { g } = chain();
    const r = g.values.get('r')!;
    expect(r.producer!.name).toBe('a');
    expect(r.consumers.map((n) => n.name)).toEqual(['b', 'c']);
    const n = g.addNode({ opType: 'Neg', name: 'n', inputs: ['x'], outputs: ['m'] });
    g.replaceAllUsesWith(r, n.output(0)!);
    expect(r.consumers).toEqual([]);
    expect(g.values.get('m')!.consumers.map((c) => c.name)).toEqual(['b', 'c']);
    expect(g.removeDeadNodes()).toBe(1);
    expect(g.nodes.map((x) => x.name)).toEqual(['b', 'c', 'n']);
    expect(g.values.has('r')).toBe(false);
  });

  it('orders nodes topologically and stably, and names the nodes of a cycle', () => {
    const { g } = chain();
    g.nodes.reverse();
    expect(g.topologicalOrder().map((n) => n.name)).toEqual(['a', 'b', 'c']);
    const a = g.nodes.find((n) => n.name === 'a')!;
    a.setInput(0, g.values.get('s')!);
    expect(() => g.topologicalOrder()).toThrow("Graph has a cycle: Relu 'a' -> Sigmoid 'b' -> Relu 'a'");
  });

  it('gives unique names across the model', () => {
    const { g } = chain();
    expect(g.uniqueName('fresh')).toBe('fresh');
    expect(g.uniqueName('r')).toBe('r_1');
    expect(g.uniqueName('a')).toBe('a_2');
  });

  it('adds initializers as constants, and an initializer that is also an input is not constant', () => {
    const { g } = chain();
    const w = g.addInitializer(Tensor.fromFloat32('w', [2], [1, 2]));
    expect(w.isConstant).toBe(true);
    expect(g.addInitializer(Tensor.fromFloat32('w', [1], [3])).name).toBe('w_1');
    g.inputs.push(w);
    expect(w.isConstant).toBe(false);
  });

  it('resolves names used inside If branches to the outer values, as consumers', () => {
    const model = loadModel(realModel('silero_vad_v5'));
    const sr = model.graph.values.get('input')!;
    expect(sr.consumers.some((n) => n.graph !== model.graph)).toBe(true);
    const ifNode = model.graph.nodes.find((n) => n.opType === 'If')!;
    expect(model.graph.implicitInputs(ifNode).map((v) => v.name).sort()).toEqual(['input', 'state']);
  });

  it('saves a graph built from scratch that onnx-proto reads back', () => {
    const { model } = chain();
    const again = loadModel(saveModel(model));
    expect(again.graph.nodes.map((n) => `${n.opType}(${n.inputs.map((v) => v!.name)})`)).toEqual(['Relu(x)', 'Sigmoid(r)', 'Add(r,s)']);
  });
});

describe('verifyModel', () => {
  it('reports every issue with the node or tensor at fault', () => {
    const { g, model } = chain();
    g.addNode({ opType: 'Mul', name: 'm', inputs: ['ghost', 'x'], outputs: ['z'] });
    g.addNode({ opType: 'Thing', name: 't', domain: 'com.acme', inputs: ['x'], outputs: ['q'] });
    g.addNode({ opType: 'Relu', name: 'a', inputs: ['x'], outputs: ['dup'] });
    const w = g.addInitializer(Tensor.fromFloat32('w', [2], [1, 2]));
    w.type = tensorType(1, [3]);
    expect(verifyModel(model)).toEqual([
      { severity: 'error', message: "Initializer 'w' has dims [2] but is declared [3]", tensor: 'w' },
      { severity: 'error', message: "Input 0 'ghost' of node Mul 'm' is not produced by any node and is not a graph input or initializer", node: 'm', tensor: 'ghost' },
      { severity: 'error', message: "Node Thing 't' uses domain 'com.acme', which the model does not import", node: 't' },
      { severity: 'warning', message: "Two nodes are named 'a'", node: 'a' },
    ]);
  });
});

describe('subgraph scopes', () => {
  it('keeps a subgraph value that shadows an outer one separate, and warns about it', async () => {
    const { encodeModelObject, valueInfo } = await import('../onnx/helpers/proto.js');
    const { normalizedModel } = await import('../onnx/helpers/onnx.js');
    const body = {
      name: 'body',
      input: [valueInfo('iter', [], 7), valueInfo('cond_in', [], 9), valueInfo('x', [2])],
      output: [valueInfo('cond_out', [], 9), valueInfo('x_out', [2])],
      node: [
        { opType: 'Identity', input: ['cond_in'], output: ['cond_out'] },
        { opType: 'Add', name: 'inner_add', input: ['x', 'k'], output: ['x_out'] },
      ],
    };
    const bytes = encodeModelObject({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      graph: {
        name: 'g',
        input: [valueInfo('x', [2]), valueInfo('n', [], 7), valueInfo('c', [], 9)],
        output: [valueInfo('y', [2])],
        initializer: [{ name: 'k', dataType: 1, dims: [2], floatData: [1, 2] }],
        node: [{ opType: 'Loop', name: 'loop', input: ['n', 'c', 'x'], output: ['y'], attribute: [{ name: 'body', type: 5, g: body }] }],
      },
    });
    const model = loadModel(bytes);
    const outerX = model.graph.values.get('x')!;
    const loop = model.graph.nodes[0];
    const sub = loop.getGraph('body')!;
    const innerX = sub.values.get('x')!;
    expect(innerX).not.toBe(outerX);
    expect(innerX.graph).toBe(sub);
    expect(outerX.consumers).toEqual([loop]);
    // k is read from the outer graph.
    expect(sub.nodes[1].input(1)).toBe(model.graph.values.get('k'));
    expect(model.graph.implicitInputs(loop).map((v) => v.name)).toEqual(['k']);
    expect(verifyModel(model)).toEqual([{ severity: 'warning', message: "Value 'x' in subgraph 'body' of node Loop 'loop' shadows a value of an enclosing graph", tensor: 'x' }]);
    expect(normalizedModel(saveModel(model))).toEqual(normalizedModel(bytes));
  });
});
