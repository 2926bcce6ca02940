import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { OnnxError } from '../../../src/onnx/errors.js';
import { loadModel, saveModel } from '../../../src/onnx/io.js';
import { canonicalize } from '../../../src/passes/manager.js';
import { rng } from '../../helpers/random.js';
import { realModel } from './helpers/onnx.js';

const MUTATIONS = 300;

/** One random mutation: flip bytes, overwrite a run, cut, splice a copy, or insert junk. */
function mutate(src: Uint8Array, next: () => number): Uint8Array {
  const out = new Uint8Array(src);
  const at = Math.floor(next() * src.length);
  switch (Math.floor(next() * 5)) {
    case 0:
      for (let i = 0; i < 1 + next() * 8; i++) out[Math.floor(next() * out.length)] ^= 1 << Math.floor(next() * 8);
      return out;
    case 1:
      for (let i = 0; i < 16 && at + i < out.length; i++) out[at + i] = Math.floor(next() * 256);
      return out;
    case 2:
      return out.subarray(0, at);
    case 3: {
      const len = Math.floor(next() * 256);
      const from = Math.floor(next() * (src.length - len));
      return Uint8Array.from([...src.subarray(0, at), ...src.subarray(from, from + len), ...src.subarray(at)]);
    }
    default:
      return Uint8Array.from([...src.subarray(0, at), ...Array.from({ length: 1 + Math.floor(next() * 8) }, () => Math.floor(next() * 256)), ...src.subarray(at)]);
  }
}

describe('fuzz smoke', () => {
  it(`${MUTATIONS} mutations of a real model each end in an OnnxError or a valid model (that canonicalizes), quickly`, () => {
    // The BlazeFace model: small (440 KB), with initializers, so mutations hit tensors as well as the graph.
    const original = readFileSync(realModel('blazeface_front'));
    const next = rng(20240611);
    let rejected = 0;
    let accepted = 0;
    const started = performance.now();
    let slowest = 0;
    for (let i = 0; i < MUTATIONS; i++) {
      const bytes = mutate(original, next);
      const t0 = performance.now();
      try {
        const model = loadModel(bytes);
        // A model that loads must also save and load again, and canonicalize or fail with an OnnxError.
        loadModel(saveModel(model));
        canonicalize(model);
        accepted++;
      } catch (err) {
        if (!(err instanceof OnnxError)) throw new Error(`mutation ${i}: ${(err as Error).stack}`);
        rejected++;
      }
      slowest = Math.max(slowest, performance.now() - t0);
    }
    expect(rejected + accepted).toBe(MUTATIONS);
    expect(rejected).toBeGreaterThan(0);
    expect(slowest).toBeLessThan(2000);
    expect(performance.now() - started).toBeLessThan(30_000);
  });
});
