/**
 * NaN in the inputs reaches the outputs where onnxruntime-node puts it. XNNPACK's output clamps turn NaN into
 * numbers, so a run whose float inputs hold NaN takes the NaN-preserving path (src/runtime/nan-path.ts);
 * checked element by element against onnxruntime-node on small models and on PP-OCR cls with a NaN pixel in a
 * real photo.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { Tensor as IrTensor } from '../../../src/ir/tensor.js';
import { serializeModel } from '../../../src/onnx/io.js';
import { InferenceSession } from '../../../src/runtime/inference-session-impl.js';
import { containsNaN } from '../../../src/runtime/nan-path.js';
import { Tensor } from '../../../src/runtime/tensor.js';
import { input, int, ints, newModel, output, randomTensor } from '../onnx/helpers/build.js';
import { MODELS_DIR } from '../onnx/helpers/onnx.js';
import { ort } from '../onnx/helpers/ort.js';
import { realFeeds } from '../onnx/helpers/real-inputs.js';
import { photoTensor } from '../onnx/helpers/images.js';

function smallModel(kind: string): Uint8Array {
  const { model, g } = newModel(13);
  input(g, 'x', [1, 2, 6, 6]);
  g.addInitializer(randomTensor('w', [3, 2, 3, 3], 1));
  g.addInitializer(randomTensor('b', [3], 2));
  g.addInitializer(IrTensor.fromFloat32('lo', [], [0]));
  g.addInitializer(IrTensor.fromFloat32('hi', [], [0.5]));
  const conv = (out: string) => g.addNode({ opType: 'Conv', name: 'c', inputs: ['x', 'w', 'b'], outputs: [out], attributes: [ints('pads', [1, 1, 1, 1])] });
  switch (kind) {
    case 'Conv':
      conv('y');
      break;
    case 'Conv+Relu':
      conv('c');
      g.addNode({ opType: 'Relu', name: 'r', inputs: ['c'], outputs: ['y'] });
      break;
    case 'Conv+Clip':
      conv('c');
      g.addNode({ opType: 'Clip', name: 'r', inputs: ['c', 'lo', 'hi'], outputs: ['y'] });
      break;
    case 'Relu':
      g.addNode({ opType: 'Relu', name: 'r', inputs: ['x'], outputs: ['y'] });
      break;
    case 'Clip':
      g.addNode({ opType: 'Clip', name: 'r', inputs: ['x', 'lo', 'hi'], outputs: ['y'] });
      break;
    case 'MaxPool':
      g.addNode({ opType: 'MaxPool', name: 'm', inputs: ['x'], outputs: ['y'], attributes: [ints('kernel_shape', [3, 3]), ints('strides', [1, 1])] });
      break;
    case 'GlobalAveragePool':
      g.addNode({ opType: 'GlobalAveragePool', name: 'm', inputs: ['x'], outputs: ['y'] });
      break;
    case 'Gemm+Relu':
      g.addInitializer(randomTensor('wg', [5, 72], 3));
      g.addNode({ opType: 'Flatten', name: 'f', inputs: ['x'], outputs: ['f'] });
      g.addNode({ opType: 'Gemm', name: 'gm', inputs: ['f', 'wg'], outputs: ['gg'], attributes: [int('transB', 1)] });
      g.addNode({ opType: 'Relu', name: 'r', inputs: ['gg'], outputs: ['y'] });
      break;
    case 'Softmax':
      g.addNode({ opType: 'Softmax', name: 'm', inputs: ['x'], outputs: ['y'], attributes: [int('axis', -1)] });
      break;
  }
  output(g, 'y');
  return serializeModel(model);
}

/** Same NaN positions; the other elements within float32 rounding of each other. */
function expectSameNaN(got: Float32Array, want: Float32Array, skip: (i: number) => boolean = () => false): void {
  expect(got.length).toBe(want.length);
  const nanAt = (a: Float32Array) => Array.from(a, (v, i) => (Number.isNaN(v) ? i : -1)).filter((i) => i >= 0);
  expect(nanAt(got)).toEqual(nanAt(want));
  for (let i = 0; i < want.length; i++) if (!Number.isNaN(want[i]) && !skip(i)) expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want[i])));
}

async function compare(bytes: Uint8Array, feeds: Record<string, { data: Float32Array; dims: number[] }>): Promise<[Float32Array, Float32Array]> {
  const session = await InferenceSession.create(bytes);
  const peer = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  const name = session.outputNames[0];
  const got = (await session.run(Object.fromEntries(Object.entries(feeds).map(([k, f]) => [k, new Tensor('float32', f.data, f.dims)]))))[name];
  const want = (await peer.run(Object.fromEntries(Object.entries(feeds).map(([k, f]) => [k, new ort.Tensor('float32', f.data, f.dims)]))))[name];
  await Promise.all([session.release(), peer.release()]);
  return [got.data as Float32Array, want.data as Float32Array];
}

describe('NaN propagation as in onnxruntime-node', () => {
  it('containsNaN looks at float32 inputs only', () => {
    expect(containsNaN([new Float32Array(4), Int32Array.of(1)])).toBe(false);
    expect(containsNaN([Float32Array.of(1, NaN)])).toBe(true);
    expect(containsNaN([Float32Array.of(Infinity, -Infinity)])).toBe(false);
  });

  for (const kind of ['Conv', 'Conv+Relu', 'Conv+Clip', 'Relu', 'Clip', 'MaxPool', 'GlobalAveragePool', 'Gemm+Relu', 'Softmax']) {
    it(`${kind}: NaN pixels of a photo`, async () => {
      const x = photoTensor('chelsea.png', 6, 6).slice(0, 72);
      x[7] = NaN;
      x[50] = NaN;
      const [got, want] = await compare(smallModel(kind), { x: { data: x, dims: [1, 2, 6, 6] } });
      expect(want.some(Number.isNaN)).toBe(true);
      // onnxruntime's MaxPool keeps a NaN only when it is the last one its max instruction sees, and otherwise
      // returns a window-order dependent maximum: positions must agree, values only where no NaN was seen.
      const marked = kind === 'MaxPool' ? (await compare(smallModel(kind), { x: { data: x.map((v) => (Number.isNaN(v) ? 1e30 : v)), dims: [1, 2, 6, 6] } }))[1] : undefined;
      expectSameNaN(got, want, (i) => marked !== undefined && marked[i] === Math.fround(1e30));
    });
  }

  it('PP-OCR cls with a NaN pixel in a real photo; the next run without NaN is unaffected', async () => {
    const bytes = readFileSync(join(MODELS_DIR, 'ppocr_cls.onnx'));
    const feed = realFeeds('ppocr_cls', 'page.png').x;
    const clean = Float32Array.from(feed.data as Float32Array);
    const x = Float32Array.from(clean);
    x[3 * 192 + 40] = NaN;
    const [got, want] = await compare(bytes, { x: { data: x, dims: [...feed.dims] } });
    expect(want.some(Number.isNaN)).toBe(true);
    expectSameNaN(got, want);
    const [again, wantClean] = await compare(bytes, { x: { data: clean, dims: [...feed.dims] } });
    expect(again.some(Number.isNaN)).toBe(false);
    expectSameNaN(again, wantClean);
  });
});
