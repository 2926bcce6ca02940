/** Invalid plans first: every mistake is a typed error naming the value or node, never a crash. */
import { describe, expect, it } from 'vitest';

import { getBinding } from '../../../src/binding.js';
import { OctetError } from '../../../src/errors.js';
import { createPlan, PLAN_OPS, type Plan } from '../../../src/runtime/plan.js';
import { quant, single } from './helpers.js';

function relu(): Plan {
  return single('Relu', [{ dtype: 'float32', shape: [2, 3] }], [{ dtype: 'float32', shape: [2, 3] }]);
}

function nativeError(plan: object): OctetError {
  try {
    createPlan(plan as Plan);
  } catch (e) {
    return e as OctetError;
  }
  throw new Error('expected createPlan to throw');
}

describe('createPlan: structural checks in TypeScript', () => {
  it('rejects a non-object and misspelled keys', () => {
    expect(() => createPlan(null as unknown as Plan)).toThrow(new TypeError('Expected object for plan but received null'));
    expect(() => createPlan({ ...relu(), nodez: [] } as unknown as Plan)).toThrow(new TypeError("Unknown option 'nodez' in plan; did you mean 'nodes'?"));
  });

  it('rejects bad value descriptions, naming the value', () => {
    const p = relu();
    p.values[0].dtype = 'float16' as 'float32';
    expect(() => createPlan(p)).toThrow(
      new RangeError("Expected one of 'float32', 'int8', 'uint8', 'int32', 'int64', 'bool' for plan.values[0] 'x0'.dtype but received 'float16' of type string"),
    );
    const q = relu();
    q.values[1].shape = [2, -3];
    expect(() => createPlan(q)).toThrow(new RangeError("Expected integer between 0 and 1099511627776 for plan.values[1] 'y0'.shape[1] but received -3 of type number"));
  });

  it('rejects constant data of the wrong type or length', () => {
    const p = single('Add', [{ dtype: 'float32', shape: [3] }, { dtype: 'float32', shape: [3], data: new Float32Array(2) }], [{ dtype: 'float32', shape: [3] }]);
    expect(() => createPlan(p)).toThrow(new RangeError("Expected Float32Array of length 3 (shape [3]) for plan.values[1] 'c1'.data but received Float32Array of length 2"));
    p.values[1].data = new Int8Array(3);
    expect(() => createPlan(p)).toThrow(new TypeError("Expected Float32Array (dtype float32) for plan.values[1] 'c1'.data but received Int8Array of length 3"));
  });

  it('rejects bad quant parameters', () => {
    const p = single('Relu', [{ dtype: 'int8', shape: [2, 3], quant: quant([0.1, 0.2], 0, 1) }], [{ dtype: 'int8', shape: [2, 3], quant: quant(0.1) }]);
    expect(() => createPlan(p)).toThrow(new RangeError("Expected Float32Array of length 3 for plan.values[0] 'x0'.quant.scale but received Float32Array of length 2"));
    p.values[0].quant = quant(0, 0);
    expect(() => createPlan(p)).toThrow(new RangeError("Expected positive finite number for plan.values[0] 'x0'.quant.scale[0] but received 0 of type number"));
    p.values[0].quant = quant(0.1, 128);
    expect(() => createPlan(p)).toThrow(new RangeError("Expected integer between -128 and 127 for plan.values[0] 'x0'.quant.zeroPoint[0] but received 128 of type number"));
  });

  it('rejects value ids out of range, naming the node', () => {
    const p = relu();
    p.nodes[0].inputs = [7];
    expect(() => createPlan(p)).toThrow(new RangeError("Expected integer between -1 and 1 for node 'relu0' (Relu).inputs[0] but received 7 of type number"));
    const q = relu();
    q.outputs = [2];
    expect(() => createPlan(q)).toThrow(new RangeError('Expected integer between 0 and 1 for plan.outputs[0] but received 2 of type number'));
  });

  it('rejects unknown ops with a suggestion', () => {
    const p = relu();
    p.nodes[0].op = 'relu' as 'Relu';
    expect(() => createPlan(p)).toThrow(new RangeError("Unknown op 'relu' in node 'relu0'; did you mean 'Relu'?"));
    p.nodes[0].op = 'NonMaxSuppression' as 'Relu';
    expect(() => createPlan(p)).toThrow(new RangeError("Unknown op 'NonMaxSuppression' in node 'relu0'"));
  });
});

describe('createPlan: semantic checks in the native layer (ERR_OCTET_INVALID_PLAN)', () => {
  it('shape mismatches name the node and the value', () => {
    const p = single('Relu', [{ dtype: 'float32', shape: [2, 3] }], [{ dtype: 'float32', shape: [3, 2] }]);
    const e = nativeError(p);
    expect(e).toBeInstanceOf(OctetError);
    expect(e.code).toBe('ERR_OCTET_INVALID_PLAN');
    expect(e.message).toBe("node 'relu0' (Relu): expected shape [2, 3] for output 'y0' but it is [3, 2]");
    expect(e.stack).toContain('plan-invalid.test.ts');
  });

  it('conv weights, attributes and output shape are checked', () => {
    const conv = (attrs: Record<string, number | number[] | string>, y = [1, 5, 5, 4], w = [4, 3, 3, 2]) =>
      nativeError(single('Conv', [{ dtype: 'float32', shape: [1, 5, 5, 2] }, { dtype: 'float32', shape: w, data: new Float32Array(w.reduce((a, b) => a * b)) }], [{ dtype: 'float32', shape: y }], attrs)).message;
    expect(conv({ pads: [1, 1, 1, 1] }, [1, 5, 5, 4], [4, 3, 3, 3])).toMatch(/^node 'conv0' \(Conv\): weights \[4, 3, 3, 3\] do not match 2 input channels in 1 groups/);
    expect(conv({})).toBe("node 'conv0' (Conv): expected shape [1, 3, 3, 4] for output 'y0' but it is [1, 5, 5, 4]");
    expect(conv({ pads: [1, 1] })).toBe("node 'conv0' (Conv): expected pads = [top, left, bottom, right]");
    expect(conv({ strides: [0, 1] })).toBe("node 'conv0' (Conv): expected strides = [sh, sw] with values >= 1");
    expect(conv({ pads: [1, 1, 1, 1], padz: 1 })).toBe("node 'conv0' (Conv): unknown attribute 'padz'");
    expect(conv({ pads: [1, 1, 1, 1], group: 'two' })).toBe("node 'conv0' (Conv): expected an integer for attribute 'group'");
  });

  it('use before definition, double definition and writes to constants', () => {
    const p = relu();
    p.inputs = [];
    expect(nativeError(p).message).toBe("node 'relu0' (Relu): input 0 value 0 'x0' is used before it is produced (nodes must be in execution order)");
    const q = relu();
    q.nodes.push({ ...q.nodes[0], name: 'again' });
    expect(nativeError(q).message).toBe("node 'again' (Relu): output value 1 'y0' is already produced");
    const r = single('Relu', [{ dtype: 'float32', shape: [1] }], [{ dtype: 'float32', shape: [1] }]);
    r.values[1].data = new Float32Array(1);
    expect(nativeError(r).message).toBe("node 'relu0' (Relu): output value 1 'y0' is a constant");
  });

  it('dtype and quant requirements of int8 ops', () => {
    const p = single('Add', [{ dtype: 'int8', shape: [4] }, { dtype: 'int8', shape: [4], quant: quant(0.1) }], [{ dtype: 'int8', shape: [4], quant: quant(0.1) }]);
    expect(nativeError(p).message).toBe("node 'add0' (Add): A 'x0' (int8) needs quant parameters");
    const q = single('Add', [{ dtype: 'float32', shape: [4] }, { dtype: 'int8', shape: [4] }], [{ dtype: 'float32', shape: [4] }]);
    expect(nativeError(q).message).toBe("node 'add0' (Add): expected float32 for B 'x1' but it is int8");
  });

  it('arity', () => {
    const p = single('Add', [{ dtype: 'float32', shape: [4] }], [{ dtype: 'float32', shape: [4] }]);
    expect(nativeError(p).message).toBe("node 'add0' (Add): expected 2 inputs but received 1");
  });

  it('vendor refusals are typed and name the node', () => {
    // XNNPACK's qs8 add requires input/output scale ratios within [2^-10, 2^8).
    const p = single('Add', [{ dtype: 'int8', shape: [4], quant: quant(1000) }, { dtype: 'int8', shape: [4], quant: quant(1) }], [{ dtype: 'int8', shape: [4], quant: quant(0.001) }]);
    const e = nativeError(p);
    expect(e.code).toBe('ERR_OCTET_XNNPACK');
    expect(e.message).toMatch(/^node 'add0' \(Add\): xnn_create_add_nd_qs8 failed: xnn_status_unsupported_parameter/);
  });

  it('the native layer re-checks everything when called directly', () => {
    const { Plan: NativePlan } = getBinding();
    const base = relu();
    expect(() => new NativePlan({ ...base, values: [{ ...base.values[0], shape: [2 ** 30, 2 ** 30, 2 ** 30] }, base.values[1]] })).toThrow(/value 0 'x0': shape .* more than 2\^40 elements/);
    expect(() => new NativePlan({ ...base, values: [{ ...base.values[0], data: new Float32Array(5) }, base.values[1]], inputs: [] })).toThrow(
      "value 0 'x0': data has 20 bytes but float32 [2, 3] needs 24",
    );
    expect(() => new NativePlan({ ...base, nodes: [{ ...base.nodes[0], op: 'Nope' }] })).toThrow("node 'relu0' (Nope): unknown op 'Nope'");
    expect(() => new NativePlan({ ...base, nodes: [{ ...base.nodes[0], inputs: [9] }] })).toThrow("node 'relu0' (Relu): input 0 value id 9 is out of range");
    expect(() => new NativePlan({ ...base, threads: 0 })).toThrow(/threads/);
    expect(() => new NativePlan({ ...base, nodes: 'x' })).toThrow('Expected array for nodes');
    expect(() => new NativePlan({ ...base, nodes: [{ ...base.nodes[0], attrs: { a: {} } }] })).toThrow("node 'relu0' (Relu): Expected number, number[] or string for attribute 'a'");
    const p = new NativePlan(base);
    expect(() => p.runSync([new Float32Array(5)], [new Float32Array(6)])).toThrow("Expected 24 bytes for inputs[0] 'x0' but received 20");
    expect(() => p.runSync([new Float32Array(6)], [])).toThrow('Expected 1 outputs but received 0');
    p.release();
  });

  it('the op list in TypeScript matches the native registry', () => {
    // Every listed op is known natively: an unknown one would fail with "unknown op".
    for (const op of PLAN_OPS) {
      const e = nativeError(single(op, [], []));
      expect(e.message).not.toMatch(/unknown op/);
    }
  });
});

describe('run arguments and release', () => {
  it('rejects inputs of the wrong type or length, naming them', async () => {
    const p = createPlan(relu());
    await expect(p.run([new Float32Array(5)])).rejects.toThrow(new RangeError("Expected Float32Array of length 6 for inputs[0] 'x0' but received Float32Array of length 5"));
    expect(() => p.runSync([new Int8Array(6) as unknown as Float32Array])).toThrow(new TypeError("Expected Float32Array for inputs[0] 'x0' but received Int8Array of length 6"));
    expect(() => p.runSync([])).toThrow(new RangeError('Expected array of 1 typed arrays for inputs but received Array of length 0'));
    expect(() => p.runSync([new Float32Array(6)], { outputs: [new Float32Array(5)] })).toThrow(
      new RangeError("Expected Float32Array of length 6 for options.outputs[0] 'y0' but received Float32Array of length 5"),
    );
    p.release();
  });

  it('a released plan gives a typed error; release is idempotent', async () => {
    const p = createPlan(relu());
    p.release();
    p.release();
    expect(() => p.runSync([new Float32Array(6)])).toThrow(expect.objectContaining({ code: 'ERR_OCTET_RELEASED' }));
    await expect(p.run([new Float32Array(6)])).rejects.toMatchObject({ code: 'ERR_OCTET_RELEASED' });
    const { Plan: NativePlan } = getBinding();
    const n = new NativePlan({ ...relu(), threads: 1 });
    n.release();
    expect(() => n.runSync([new Float32Array(6)], [new Float32Array(6)])).toThrow(expect.objectContaining({ code: 'ERR_OCTET_RELEASED' }));
    expect(n.implementations).toBeNull();
  });
});
