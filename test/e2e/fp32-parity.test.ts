/**
 * octet's own runtime against onnxruntime-node, fp32, on the real models with real photos and speech:
 * every output must match to 1e-4 of its largest magnitude.
 */
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { InferenceSession, Tensor } from '../../src/index.js';
import { MODELS_DIR } from '../unit/onnx/helpers/onnx.js';
import { ort } from '../unit/onnx/helpers/ort.js';
import { realFeeds } from '../unit/onnx/helpers/real-inputs.js';

const MODELS = ['blazeface_front', 'ppocr_cls', 'ppocr_det', 'ppocr_rec', 'silero_vad_op18_ifless'];

function toOctet(feeds: Record<string, { type: string; data: unknown; dims: readonly number[] }>): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(feeds)) out[k] = new Tensor(t.type as 'float32', t.data as Float32Array, t.dims);
  return out;
}

describe.each(MODELS)('fp32 parity with onnxruntime-node: %s', (name) => {
  it('gives the same outputs on a real input', async () => {
    const file = join(MODELS_DIR, `${name}.onnx`);
    const feeds = realFeeds(name);
    const ref = await (await ort.InferenceSession.create(file)).run(feeds);
    const session = await InferenceSession.create(file);
    const got = await session.run(toOctet(feeds as never));
    for (const out of session.outputNames) {
      const a = ref[out].data as Float32Array;
      const b = got[out].data as Float32Array;
      expect(got[out].dims).toEqual(ref[out].dims);
      let maxAbs = 0;
      let maxRef = 0;
      for (let i = 0; i < a.length; i++) {
        maxAbs = Math.max(maxAbs, Math.abs(a[i] - b[i]));
        maxRef = Math.max(maxRef, Math.abs(a[i]));
      }
      expect(maxAbs / Math.max(maxRef, 1e-12), `output ${out}: max |diff| ${maxAbs}, max |ref| ${maxRef}`).toBeLessThan(1e-4);
    }
    await session.release();
  });
});
