import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';

import { describe, expect, it } from 'vitest';

import { backends, InferenceSession, OctetError, serializeModel, Tensor } from '../../../src/index.js';
import { input, newModel, output } from '../onnx/helpers/build.js';
import { MODELS_DIR, TESTDATA } from '../onnx/helpers/onnx.js';
import { photoTensor } from '../onnx/helpers/images.js';

const CLS = join(MODELS_DIR, 'ppocr_cls.onnx');
const clsInput = (): Tensor<'float32'> => new Tensor('float32', photoTensor('page.png', 192, 48), [1, 3, 48, 192]);

describe('Tensor: invalid arguments', () => {
  it('rejects unknown types, mismatched data and bad dims', () => {
    expect(() => new Tensor('float64' as 'float32', new Float32Array(1))).toThrow(
      new RangeError("Expected one of 'float32', 'int8', 'uint8', 'int32', 'int64', 'bool' for type but received 'float64' of type string"),
    );
    expect(() => new Tensor('float32', new Int8Array(4) as unknown as Float32Array)).toThrow(
      new TypeError('Expected Float32Array or Array for a float32 tensor for data but received Int8Array of length 4'),
    );
    expect(() => new Tensor('float32', new Float32Array(6), [2, 2])).toThrow(
      new RangeError('Expected Float32Array of length 4 (the product of dims [2, 2]) for data but received Float32Array of length 6'),
    );
    expect(() => new Tensor('float32', new Float32Array(6), [2, -3])).toThrow(
      new RangeError('Expected non-negative integer for dims[1] but received -3 of type number'),
    );
  });

  it('converts plain arrays and keeps dims', () => {
    const t = new Tensor('int64', [1, 2, 3], [3, 1]);
    expect(t.data).toBeInstanceOf(BigInt64Array);
    expect(t.dims).toEqual([3, 1]);
    expect(t.size).toBe(3);
  });
});

describe('InferenceSession.create: invalid arguments and unsupported models', () => {
  it('rejects bad arguments, naming them', async () => {
    await expect(InferenceSession.create(42 as unknown as string)).rejects.toThrow(
      new TypeError('Expected path string or Uint8Array for pathOrBytes but received 42 of type number'),
    );
    await expect(InferenceSession.create(CLS, { thread: 2 } as never)).rejects.toThrow(
      new TypeError("Unknown option 'thread' in options; did you mean 'threads'?"),
    );
    await expect(InferenceSession.create(CLS, { threads: 0 })).rejects.toThrow(
      new RangeError('Expected integer between 1 and 1024 for options.threads but received 0 of type number'),
    );
    await expect(InferenceSession.create(CLS, { backend: 'fbgemm' as 'onednn' })).rejects.toThrow(RangeError);
  });

  it("backend 'onednn' runs a float32 model everywhere oneDNN runs (int8 ones: onednn-seven-bit.test.ts)", async () => {
    const onednn = backends().find((b) => b.name === 'onednn');
    if (!onednn?.available) return expect(InferenceSession.create(CLS, { backend: 'onednn' })).rejects.toMatchObject({ code: 'ERR_OCTET_BACKEND_UNAVAILABLE' });
    const session = await InferenceSession.create(CLS, { backend: 'onednn' });
    await session.run({ x: clsInput() });
    expect(session.implementations().filter((k) => k.startsWith('onednn:')).length).toBeGreaterThan(20);
    await session.release();
  });

  it("picks the float32 Conv/FC library: 'auto' = oneDNN where it runs (x86), 'xnnpack' = XNNPACK, same outputs", async () => {
    const onednn = backends().some((b) => b.name === 'onednn' && b.available);
    const x = clsInput();
    const auto = await InferenceSession.create(CLS);
    const xnn = await InferenceSession.create(CLS, { backend: 'xnnpack' });
    const [a, b] = [(await auto.run({ x }))[auto.outputNames[0]].data as Float32Array, (await xnn.run({ x }))[xnn.outputNames[0]].data as Float32Array];
    a.forEach((v, i) => expect(Math.abs(v - b[i])).toBeLessThan(1e-5));
    const dense = (impls: string[]) => impls.filter((k) => /convolution|fully_connected|matmul_f32|^onednn:/.test(k));
    expect(dense(xnn.implementations()).every((k) => k.startsWith('xnnpack:'))).toBe(true);
    const autoDense = dense(auto.implementations());
    expect(autoDense.length).toBeGreaterThan(20);
    expect(autoDense.every((k) => k.startsWith(onednn ? 'onednn:' : 'xnnpack:'))).toBe(true);
    await auto.release();
    await xnn.release();
  });

  it('rejects a model with operators the runtime lacks at create(), not at run()', async () => {
    const model = join(TESTDATA, 'node', 'test_lrn_default', 'model.onnx');
    await expect(InferenceSession.create(model)).rejects.toThrow(/^the runtime does not support LRN \(1 node, first LRN/);
  });

  it('rejects a missing file with an OnnxError naming it (not a bare ENOENT)', async () => {
    await expect(InferenceSession.create('/nonexistent/model.onnx')).rejects.toMatchObject({
      code: 'ERR_OCTET_ONNX',
      message: "Cannot read model file '/nonexistent/model.onnx': ENOENT: no such file or directory, open '/nonexistent/model.onnx'",
    });
  });

  it('rejects bytes that are not a model with an OnnxError', async () => {
    await expect(InferenceSession.create(new Uint8Array([1, 2, 3, 4, 5]))).rejects.toMatchObject({ code: 'ERR_OCTET_ONNX' });
  });
});

describe('InferenceSession.run on the PP-OCR orientation classifier', () => {
  it('exposes input/output names and metadata like onnxruntime', async () => {
    const s = await InferenceSession.create(CLS);
    expect(s.inputNames).toEqual(['x']);
    expect(s.outputNames.length).toBe(1);
    expect(s.inputMetadata[0].type).toBe('float32');
    expect(s.inputMetadata[0].shape.length).toBe(4);
    await s.release();
  });

  it('rejects missing, extra, mistyped and misshapen inputs, naming them', async () => {
    const s = await InferenceSession.create(CLS);
    await expect(s.run({})).rejects.toThrow(new RangeError("Missing input 'x' in feeds"));
    await expect(s.run({ x: clsInput(), y: clsInput() })).rejects.toThrow(new RangeError("Unknown input 'y' in feeds; the model's inputs are 'x'"));
    await expect(s.run({ x: new Tensor('int32', new Int32Array(3 * 48 * 192), [1, 3, 48, 192]) })).rejects.toThrow(
      new TypeError("Expected a float32 Tensor for feeds['x'] but received 'int32 Tensor' of type string"),
    );
    await expect(s.run({ x: new Tensor('float32', new Float32Array(3 * 48 * 192), [3, 48, 192]) })).rejects.toThrow(
      /^Expected 4 dims \[.*\] for feeds\['x'\]\.dims but received '\[3, 48, 192\]'/,
    );
    await expect(s.run({ x: new Float32Array(4) as unknown as Tensor })).rejects.toThrow(
      new TypeError("Expected Tensor for feeds['x'] but received Float32Array of length 4"),
    );
    await expect(s.run({ x: clsInput() }, { profil: true } as never)).rejects.toThrow(
      new TypeError("Unknown option 'profil' in options; did you mean 'profile'?"),
    );
    await s.release();
  });

  it('gives the same result for the same input, across sizes, and profiles nodes on request', async () => {
    const s = await InferenceSession.create(CLS);
    const a = await s.run({ x: clsInput() });
    const b = await s.run({ x: clsInput() }, { profile: true });
    const out = s.outputNames[0];
    expect(Array.from(b[out].data as Float32Array)).toEqual(Array.from(a[out].data as Float32Array));
    expect(s.lastProfile?.length).toBeGreaterThan(10);
    expect(s.lastProfile?.some((n) => n.op === 'Conv')).toBe(true);
    // A different width is a different plan; the probabilities still sum to 1.
    const wide = await s.run({ x: new Tensor('float32', photoTensor('page.png', 256, 48), [1, 3, 48, 256]) });
    const p = wide[out].data as Float32Array;
    expect(p[0] + p[1]).toBeCloseTo(1, 5);
    await s.release();
  });

  it('accepts NaN in the input without failing', async () => {
    // As in onnxruntime-node, the NaN reaches the outputs (the NaN-preserving path, docs/api.md); the positions
    // are compared with onnxruntime in test/unit/runtime/nan-propagation.test.ts.
    const s = await InferenceSession.create(CLS);
    const x = clsInput();
    (x.data as Float32Array).fill(Number.NaN, 0, 100);
    const r = await s.run({ x });
    const p = r[s.outputNames[0]].data as Float32Array;
    expect(p.length).toBe(2);
    expect(Array.from(p).map(Number.isNaN)).toEqual([true, true]);
    await s.release();
  });

  it('serialises concurrent runs and gives identical results', async () => {
    const s = await InferenceSession.create(CLS);
    const out = s.outputNames[0];
    const results = await Promise.all(Array.from({ length: 6 }, () => s.run({ x: clsInput() })));
    for (const r of results) expect(Array.from(r[out].data as Float32Array)).toEqual(Array.from(results[0][out].data as Float32Array));
    await s.release();
  });

  it('throws a typed error after release', async () => {
    const s = await InferenceSession.create(CLS);
    await s.release();
    await expect(s.run({ x: clsInput() })).rejects.toBeInstanceOf(OctetError);
    await expect(s.run({ x: clsInput() })).rejects.toMatchObject({ code: 'ERR_OCTET_RELEASED' });
  });
});

describe('InferenceSession.run keeps the event loop free', () => {
  it('timers keep firing during a long run (PP-OCR detector, 960x960)', async () => {
    const s = await InferenceSession.create(join(MODELS_DIR, 'ppocr_det.onnx'));
    const x = new Tensor('float32', photoTensor('page.png', 960, 960), [1, 3, 960, 960]);
    await s.run({ x }); // prepare the plan outside the measurement
    const h = monitorEventLoopDelay({ resolution: 5 });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    h.enable();
    const t0 = performance.now();
    await s.run({ x });
    const ms = performance.now() - t0;
    h.disable();
    clearInterval(timer);
    // The run takes hundreds of ms; a blocked loop would give ~0 ticks and a max delay near the run time.
    expect(ms).toBeGreaterThan(50);
    expect(ticks).toBeGreaterThan(ms / 5 / 4);
    expect(h.max / 1e6).toBeLessThan(Math.max(50, ms / 2));
    await s.release();
  });
});

describe('InferenceSession.create: convolution weights', () => {
  it('weights fed as an input are frozen into the plan, per value (the ONNX test-suite style)', async () => {
    const dir = join(TESTDATA, 'node', 'test_conv_with_strides_padding');
    const s = await InferenceSession.create(join(dir, 'model.onnx'));
    const x = new Tensor('float32', new Float32Array(35).map((_, i) => i), [1, 1, 7, 5]);
    const w1 = new Tensor('float32', new Float32Array(9).fill(1), [1, 1, 3, 3]);
    const w2 = new Tensor('float32', new Float32Array(9).fill(2), [1, 1, 3, 3]);
    const a = (await s.run({ x, W: w1 }))[s.outputNames[0]].data as Float32Array;
    const b = (await s.run({ x, W: w2 }))[s.outputNames[0]].data as Float32Array;
    expect(a[0]).toBe(12); // 0+1+5+6: the padded 3x3 window at the corner
    expect(Array.from(b)).toEqual(Array.from(a, (v) => 2 * v));
    await s.release();
  });

  it('weights computed by the graph are refused at create()', async () => {
    const { model, g } = newModel(13);
    input(g, 'x', [1, 1, 5, 5]);
    input(g, 'w', [1, 1, 3, 3]);
    g.addNode({ opType: 'Relu', name: 'relu_w', inputs: ['w'], outputs: ['w2'] });
    g.addNode({ opType: 'Conv', name: 'conv', inputs: ['x', 'w2'], outputs: ['y'] });
    output(g, 'y', 1, [1, 1, 3, 3]);
    await expect(InferenceSession.create(serializeModel(model))).rejects.toThrow(
      "the runtime does not support Conv with non-constant weights (1 node, first Conv 'conv')",
    );
  });
});
