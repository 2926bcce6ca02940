/**
 * Models with LayerNormalization and LSTM / GRU / RNN, built here through the IR, against onnxruntime-node on
 * real data (a photo's pixels as token features, speech frames as a sequence); their quantization (static
 * QDQ around LayerNormalization, dynamic with the LSTM left fp32) runs on octet's runtime.
 */
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import type { Graph } from '../../../src/ir/graph.js';
import { Tensor as IrTensor } from '../../../src/ir/tensor.js';
import { serializeModel } from '../../../src/onnx/io.js';
import { quantize } from '../../../src/quantize/quantize.js';
import { InferenceSession } from '../../../src/runtime/inference-session-impl.js';
import { Tensor } from '../../../src/runtime/tensor.js';
import { float, input, int, newModel, output, randomTensor, str } from '../onnx/helpers/build.js';
import { photoTensor, readWav } from '../onnx/helpers/images.js';
import { IMAGES_DIR } from '../onnx/helpers/onnx.js';
import { ort, scaledError } from '../onnx/helpers/ort.js';

type Feed = { name: string; data: Float32Array | Int32Array; dims: number[] };

async function bothRuntimes(bytes: Uint8Array, feeds: Feed[], outputs: string[]): Promise<{ octet: ort.Tensor[]; ort: ort.Tensor[] }> {
  const session = await InferenceSession.create(bytes);
  const peer = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  const got = await session.run(Object.fromEntries(feeds.map((f) => [f.name, new Tensor(f.data instanceof Int32Array ? 'int32' : 'float32', f.data, f.dims)])));
  const want = await peer.run(Object.fromEntries(feeds.map((f) => [f.name, new ort.Tensor(f.data instanceof Int32Array ? 'int32' : 'float32', f.data, f.dims)])));
  await Promise.all([session.release(), peer.release()]);
  return {
    octet: outputs.map((n) => new ort.Tensor('float32', got[n].data as Float32Array, [...got[n].dims])),
    ort: outputs.map((n) => want[n] as ort.Tensor),
  };
}

/** Token features from a real photo: its pixels as [1, tokens, width] (shifted and scaled like activations). */
function photoTokens(image: string, tokens: number, width: number): Float32Array {
  return photoTensor(image, width, tokens / 3).map((v) => 3 * v + 1);
}

function layerNormModel(): Uint8Array {
  const { model, g } = newModel(17);
  input(g, 'x', [1, 48, 64]);
  g.addInitializer(randomTensor('w1', [64, 64], 1, -0.3, 0.3));
  g.addInitializer(randomTensor('gamma', [64], 2, 0.5, 1.5));
  g.addInitializer(randomTensor('beta', [64], 3, -0.2, 0.2));
  g.addInitializer(randomTensor('w2', [64, 32], 4, -0.3, 0.3));
  g.addNode({ opType: 'MatMul', name: 'proj', inputs: ['x', 'w1'], outputs: ['h'] });
  g.addNode({ opType: 'LayerNormalization', name: 'ln', inputs: ['h', 'gamma', 'beta'], outputs: ['n', 'mean', 'inv'], attributes: [int('axis', -1), float('epsilon', 1e-5)] });
  g.addNode({ opType: 'MatMul', name: 'head', inputs: ['n', 'w2'], outputs: ['y'] });
  output(g, 'y');
  output(g, 'mean');
  output(g, 'inv');
  return serializeModel(model);
}

describe('LayerNormalization in a model', () => {
  it('matches onnxruntime-node (Y, Mean, InvStdDev) on a photo', async () => {
    const x = photoTokens('chelsea.png', 48, 64);
    const r = await bothRuntimes(layerNormModel(), [{ name: 'x', data: x, dims: [1, 48, 64] }], ['y', 'mean', 'inv']);
    r.ort.forEach((want, i) => expect(scaledError(want, r.octet[i])).toBeLessThan(1e-5));
  });

  it('static quantization leaves it fp32 between quantized MatMuls, and the result runs', async () => {
    const calibration = ['astronaut.png', 'coffee.png', 'motorcycle_left.png', 'page.png'].map((f) => ({ x: { data: photoTokens(f, 48, 64), dims: [1, 48, 64] } }));
    const { model, report } = await quantize(layerNormModel(), { calibration, progress: false });
    const ln = model.graph.nodes.find((n) => n.opType === 'LayerNormalization')!;
    // It reads the float output of the MatMul before it (whose inputs are Q/DQ'd) and its output is quantized
    // for the MatMul after it.
    expect(ln.input(0)!.producer!.opType).toBe('MatMul');
    expect(ln.input(0)!.producer!.input(0)!.producer!.opType).toBe('DequantizeLinear');
    expect(ln.output(0)!.consumers.map((n) => n.opType)).toEqual(['QuantizeLinear']);
    expect(report.notes).toContain('LayerNormalization: 1 node left in fp32 (not supported by static quantization)');
    const bytes = serializeModel(model);
    const x = photoTokens('chelsea.png', 48, 64);
    const q = await InferenceSession.create(bytes);
    const f = await InferenceSession.create(layerNormModel());
    const yq = (await q.run({ x: new Tensor('float32', x, [1, 48, 64]) })).y;
    const yf = (await f.run({ x: new Tensor('float32', x, [1, 48, 64]) })).y;
    await Promise.all([q.release(), f.release()]);
    // int8 around it: close to fp32, not equal.
    const err = scaledError(new ort.Tensor('float32', yf.data as Float32Array, [...yf.dims]), new ort.Tensor('float32', yq.data as Float32Array, [...yq.dims]));
    expect(err).toBeGreaterThan(0);
    expect(err).toBeLessThan(0.05);
  });
});

/** Speech as a sequence: `steps` frames of `width` consecutive samples of a fixture WAV, scaled to unit range. */
function speechFrames(steps: number, batch: number, width: number): Float32Array {
  const wav = readWav(join(IMAGES_DIR, '..', 'audio', 'Front_Center.wav'));
  const out = new Float32Array(steps * batch * width);
  const start = Math.floor(wav.samples.length / 3);
  let peak = 0;
  for (let i = 0; i < out.length; i++) peak = Math.max(peak, Math.abs(wav.samples[start + i]));
  for (let i = 0; i < out.length; i++) out[i] = wav.samples[start + i] / peak;
  return out;
}

function recurrentModel(op: 'LSTM' | 'GRU' | 'RNN', direction: string, extra: (g: Graph) => string[] = () => []): Uint8Array {
  const { model, g } = newModel(14);
  const gates = op === 'LSTM' ? 4 : op === 'GRU' ? 3 : 1;
  const d = direction === 'bidirectional' ? 2 : 1;
  input(g, 'x', [20, 2, 16]);
  g.addInitializer(randomTensor('W', [d, gates * 24, 16], 1, -0.4, 0.4));
  g.addInitializer(randomTensor('R', [d, gates * 24, 24], 2, -0.3, 0.3));
  g.addInitializer(randomTensor('B', [d, 2 * gates * 24], 3, -0.2, 0.2));
  const more = extra(g);
  const outs = op === 'LSTM' ? ['Y', 'Y_h', 'Y_c'] : ['Y', 'Y_h'];
  g.addNode({ opType: op, name: 'cell', inputs: ['x', 'W', 'R', 'B', ...more], outputs: outs, attributes: [int('hidden_size', 24), str('direction', direction), ...(op === 'GRU' ? [int('linear_before_reset', 1)] : [])] });
  // A classifier head on the sequence: the MatMul dynamic quantization quantizes.
  g.addInitializer(randomTensor('head', [24, 8], 4, -0.5, 0.5));
  g.addNode({ opType: 'MatMul', name: 'head', inputs: ['Y', 'head'], outputs: ['logits'] });
  output(g, 'logits');
  outs.slice(1).forEach((o) => output(g, o));
  return serializeModel(model);
}

describe('LSTM, GRU, RNN in a model', () => {
  const x = { name: 'x', data: speechFrames(20, 2, 16), dims: [20, 2, 16] };
  for (const [op, direction] of [
    ['LSTM', 'bidirectional'],
    ['GRU', 'forward'],
    ['RNN', 'reverse'],
  ] as const) {
    it(`${op} ${direction} matches onnxruntime-node on speech`, async () => {
      const outs = op === 'LSTM' ? ['logits', 'Y_h', 'Y_c'] : ['logits', 'Y_h'];
      const r = await bothRuntimes(recurrentModel(op, direction), [x], outs);
      r.ort.forEach((want, i) => expect(scaledError(want, r.octet[i])).toBeLessThan(1e-5));
    });
  }

  it('LSTM with sequence lengths and an initial state given at run time', async () => {
    const bytes = recurrentModel('LSTM', 'forward', (g) => {
      input(g, 'lens', [2], 6);
      g.addInitializer(IrTensor.fromFloat32('h0', [1, 2, 24], Array.from({ length: 48 }, (_, i) => Math.sin(i))));
      return ['lens', 'h0'];
    });
    const r = await bothRuntimes(bytes, [x, { name: 'lens', data: Int32Array.of(20, 11), dims: [2] }], ['logits', 'Y_h', 'Y_c']);
    r.ort.forEach((want, i) => expect(scaledError(want, r.octet[i])).toBeLessThan(1e-5));
  });

  it('dynamic quantization leaves the LSTM fp32, quantizes the head, and the result runs', async () => {
    const fp32 = recurrentModel('LSTM', 'bidirectional');
    const { model, report } = await quantize(fp32, { dynamic: true, progress: false });
    expect(report.counts.byOpType.LSTM).toBe(1);
    expect(report.counts.byOpType.MatMulInteger).toBe(1);
    expect(report.notes.join('\n')).toContain('LSTM: 1 node left in fp32');
    const q = await bothRuntimes(serializeModel(model), [x], ['logits', 'Y_h']);
    const f = await bothRuntimes(fp32, [x], ['logits', 'Y_h']);
    // The LSTM's own output stays exact; the dynamically quantized head is close to fp32 (judged against
    // onnxruntime's fp32: its own int8 kernels saturate on CPUs without VNNI).
    expect(scaledError(f.ort[1], q.octet[1])).toBeLessThan(1e-5);
    const err = scaledError(f.ort[0], q.octet[0]);
    expect(err).toBeGreaterThan(0);
    expect(err).toBeLessThan(0.02);
  });
});

describe('refused at create(), with the reason', () => {
  it('LayerNormalization with float64 statistics, an LSTM with an unknown activation', async () => {
    const ln = newModel(17);
    input(ln.g, 'x', [2, 8]);
    ln.g.addInitializer(randomTensor('gamma', [8], 1));
    ln.g.addNode({ opType: 'LayerNormalization', name: 'ln', inputs: ['x', 'gamma'], outputs: ['y'], attributes: [int('stash_type', 11)] });
    output(ln.g, 'y');
    await expect(InferenceSession.create(serializeModel(ln.model))).rejects.toThrow(
      "the runtime does not support LayerNormalization with stash_type 11 (float32 statistics only) (1 node, first LayerNormalization 'ln')",
    );
    const { model, g } = newModel(14);
    input(g, 'x', [3, 1, 4]);
    g.addInitializer(randomTensor('W', [1, 8, 4], 1));
    g.addInitializer(randomTensor('R', [1, 8, 2], 2));
    g.addNode({ opType: 'LSTM', name: 'cell', inputs: ['x', 'W', 'R'], outputs: ['Y'], attributes: [int('hidden_size', 2), { name: 'activations', type: 'strings', value: ['Sigmoid', 'Cosh', 'Tanh'].map((s) => new TextEncoder().encode(s)) }] });
    output(g, 'Y');
    await expect(InferenceSession.create(serializeModel(model))).rejects.toThrow("the runtime does not support LSTM with activation 'Cosh' (1 node, first LSTM 'cell')");
  });
});
