import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { OctetError } from '../../../src/errors.js';
import { OnnxError } from '../../../src/onnx/errors.js';
import { loadModel } from '../../../src/onnx/io.js';
import { realModel } from './helpers/onnx.js';
import { graphModel, encodeModelObject, BASE, valueInfo as vi } from './helpers/proto.js';

function failure(fn: () => unknown): OnnxError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(OnnxError);
    expect(err).toBeInstanceOf(OctetError);
    expect((err as OnnxError).code).toBe('ERR_OCTET_ONNX');
    return err as OnnxError;
  }
  throw new Error('expected an OnnxError');
}

describe('loadModel: invalid arguments', () => {
  it('rejects what is neither a path nor bytes', () => {
    expect(() => loadModel(42 as never)).toThrow(new TypeError('Expected path string or Uint8Array for pathOrBytes but received 42 of type number'));
    expect(() => loadModel('')).toThrow(new RangeError("Expected non-empty path string or Uint8Array for pathOrBytes but received '' of type string"));
  });

  it('rejects unknown and mistyped options', () => {
    const bytes = readFileSync(realModel('ppocr_cls'));
    expect(() => loadModel(bytes, { verfy: false } as never)).toThrow(new TypeError("Unknown option 'verfy' in options; did you mean 'verify'?"));
    expect(() => loadModel(bytes, { verify: 'no' } as never)).toThrow(new TypeError("Expected boolean for options.verify but received 'no' of type string"));
  });
});

describe('loadModel: bad input is an OnnxError, never a crash', () => {
  it('truncated bytes', () => {
    const real = readFileSync(realModel('ppocr_cls'));
    expect(failure(() => loadModel(real.subarray(0, 1000))).message).toBe('Not a valid ONNX model: protobuf decoding failed (index out of range: 877 + 128 > 1000)');
    for (const cut of [1, 17, 4096, real.length >> 1, real.length - 1]) failure(() => loadModel(real.subarray(0, cut)));
  });

  it('random bytes, empty input, a missing file', () => {
    const random = Uint8Array.from({ length: 500 }, (_, i) => (i * 7919 + 13) & 255);
    expect(failure(() => loadModel(random)).message).toBe('Not a valid ONNX model: protobuf decoding failed (invalid wire type 7 at offset 88)');
    expect(failure(() => loadModel(new Uint8Array(0))).message).toBe('Not an ONNX model: the input is empty');
    expect(failure(() => loadModel('/nonexistent/model.onnx')).message).toMatch(/^Cannot read model file '\/nonexistent\/model.onnx': ENOENT/);
  });

  it('a protobuf that is not a ModelProto', () => {
    const tensor = readFileSync('/usr/share/libonnx-testdata/data/node/test_abs/test_data_set_0/input_0.pb');
    failure(() => loadModel(tensor));
    expect(failure(() => loadModel(encodeModelObject({ ...BASE }))).message).toBe('Not an ONNX model: the ModelProto has no graph');
    expect(failure(() => loadModel(encodeModelObject({ graph: { name: 'g' } }))).message).toBe('Not an ONNX model: ir_version is missing');
    expect(failure(() => loadModel(encodeModelObject({ irVersion: 8, graph: { name: 'g' } }))).message).toBe('Not an ONNX model: no opset_import (required from IR version 3)');
  });

  it('a missing initializer, naming the node and the tensor', () => {
    const err = failure(() => loadModel(graphModel({ input: [vi('x', [1, 3, 4, 4])], output: [vi('y', [1, 2, 4, 4])], node: [{ opType: 'Conv', name: 'conv', input: ['x', 'w'], output: ['y'] }] })));
    expect(err.message).toBe("Invalid ONNX model: Input 1 'w' of node Conv 'conv' is not produced by any node and is not a graph input or initializer");
    expect(err.node).toBe('conv');
    expect(err.tensor).toBe('w');
  });

  it('a graph output nothing produces', () => {
    const err = failure(() => loadModel(graphModel({ input: [vi('x', [2])], output: [vi('z', [2])], node: [{ opType: 'Relu', name: 'r', input: ['x'], output: ['y'] }] })));
    expect(err.message).toBe("Invalid ONNX model: Graph output 'z' is not produced by any node and is not a graph input or initializer");
    expect(err.tensor).toBe('z');
  });

  it('a cycle', () => {
    const err = failure(() =>
      loadModel(graphModel({ input: [vi('x', [2])], output: [vi('y', [2])], node: [{ opType: 'Add', name: 'a', input: ['x', 'c'], output: ['b'] }, { opType: 'Relu', name: 'r', input: ['b'], output: ['c'] }, { opType: 'Relu', name: 'r2', input: ['b'], output: ['y'] }] })),
    );
    expect(err.message).toBe("Invalid ONNX model: Graph has a cycle: Add 'a' -> Relu 'r' -> Add 'a'");
    expect(err.node).toBe('a');
  });

  it('duplicate names: two producers, two initializers, two inputs, a node writing an input', () => {
    let err = failure(() => loadModel(graphModel({ input: [vi('x', [2])], output: [vi('y', [2])], node: [{ opType: 'Relu', name: 'r1', input: ['x'], output: ['y'] }, { opType: 'Sigmoid', name: 's1', input: ['x'], output: ['y'] }] })));
    expect(err.message).toBe("Value 'y' is produced by two nodes: Relu 'r1' and Sigmoid 's1'");
    expect([err.node, err.tensor]).toEqual(['s1', 'y']);
    const k = { name: 'k', dataType: 1, dims: [2], floatData: [1, 2] };
    err = failure(() => loadModel(graphModel({ input: [vi('x', [2])], output: [vi('y', [2])], initializer: [k, k], node: [{ opType: 'Add', input: ['x', 'k'], output: ['y'] }] })));
    expect(err.message).toBe("Duplicate initializer 'k' in the graph");
    expect(err.tensor).toBe('k');
    err = failure(() => loadModel(graphModel({ input: [vi('x', [2]), vi('x', [2])], output: [vi('y', [2])], node: [{ opType: 'Relu', input: ['x'], output: ['y'] }] })));
    expect(err.message).toBe("Duplicate graph input 'x' in the graph");
    err = failure(() => loadModel(graphModel({ input: [vi('x', [2])], output: [vi('x', [2])], node: [{ opType: 'Relu', name: 'r', input: ['x'], output: ['x'] }] })));
    expect(err.message).toBe("Node Relu 'r' produces 'x', which is already a graph input or initializer");
  });

  it('unknown operators and domains that are not imported', () => {
    let err = failure(() => loadModel(graphModel({ input: [vi('x', [2])], output: [vi('y', [2])], node: [{ opType: 'Frobnicate', name: 'f', input: ['x'], output: ['y'] }] })));
    expect(err.message).toBe("Invalid ONNX model: Node Frobnicate 'f' uses unknown operator 'Frobnicate' of domain 'ai.onnx'");
    expect(err.node).toBe('f');
    err = failure(() => loadModel(graphModel({ input: [vi('x', [2])], output: [vi('y', [2])], node: [{ opType: 'Gelu', name: 'g', domain: 'com.example', input: ['x'], output: ['y'] }] })));
    expect(err.message).toBe("Invalid ONNX model: Node Gelu 'g' uses domain 'com.example', which the model does not import");
  });

  it('oversized declared dims, and tensor data that does not match its dims', () => {
    let err = failure(() =>
      loadModel(graphModel({ input: [vi('x', [2])], output: [vi('y', [2])], initializer: [{ name: 'k', dataType: 1, dims: [1e9, 1e9], rawData: new Uint8Array(8) }], node: [{ opType: 'Add', input: ['x', 'k'], output: ['y'] }] })),
    );
    expect(err.message).toBe("Initializer 'k' declares dims [1000000000, 1000000000] (1000000000000000000 elements), more than the 1099511627776 allowed");
    expect(err.tensor).toBe('k');
    err = failure(() => loadModel(graphModel({ input: [vi('x', [2 ** 50])], output: [vi('y', [2])], node: [{ opType: 'Relu', input: ['x'], output: ['y'] }] })));
    expect(err.message).toBe("Value 'x' in the graph declares dimension 1125899906842624, more than the 1099511627776 allowed");
    err = failure(() =>
      loadModel(graphModel({ input: [vi('x', [2])], output: [vi('y', [2])], initializer: [{ name: 'k', dataType: 1, dims: [3], rawData: new Uint8Array(8) }], node: [{ opType: 'Add', input: ['x', 'k'], output: ['y'] }] })),
    );
    expect(err.message).toBe("Initializer 'k' of type float32 and dims [3] needs 12 bytes but raw_data has 8");
    err = failure(() =>
      loadModel(graphModel({ input: [vi('x', [2])], output: [vi('y', [2])], initializer: [{ name: 'k', dataType: 1, dims: [3], floatData: [1] }], node: [{ opType: 'Add', input: ['x', 'k'], output: ['y'] }] })),
    );
    expect(err.message).toBe("Initializer 'k' declares 3 elements of type float32 but holds 1 values in float_data and no raw_data");
    err = failure(() =>
      loadModel(graphModel({ input: [vi('x', [2])], output: [vi('y', [2])], initializer: [{ name: 'k', dataType: 99, dims: [1], rawData: new Uint8Array(1) }], node: [{ opType: 'Add', input: ['x', 'k'], output: ['y'] }] })),
    );
    expect(err.message).toBe("Initializer 'k' has unsupported data type 99");
  });

  it('an initializer that contradicts its declared type', () => {
    const err = failure(() =>
      loadModel(graphModel({ input: [vi('x', [2]), vi('k', [3])], output: [vi('y', [2])], initializer: [{ name: 'k', dataType: 1, dims: [2], floatData: [1, 2] }], node: [{ opType: 'Add', input: ['x', 'k'], output: ['y'] }] })),
    );
    expect(err.message).toBe("Invalid ONNX model: Initializer 'k' has dims [2] but is declared [3]");
  });

  it('loads with verify: false what only the verifier rejects', () => {
    const model = loadModel(graphModel({ input: [vi('x', [2])], output: [vi('y', [2])], node: [{ opType: 'Frobnicate', input: ['x'], output: ['y'] }] }), { verify: false });
    expect(model.graph.nodes[0].opType).toBe('Frobnicate');
  });
});
