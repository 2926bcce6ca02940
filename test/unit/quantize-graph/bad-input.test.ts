/**
 * Bad input: .npy edge cases, empty calibration folders, wrong shapes/dtypes, NaN/Inf samples (skipped and
 * counted), all-zero activations (scale never 0), unsupported ops (fp32 with a note), and the CLI's atomic
 * write (no partial output file on error).
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { main } from '../../../src/cli/main.js';
import { serializeModel } from '../../../src/onnx/io.js';
import { readNpy, writeNpy } from '../../../src/quantize/data.js';
import { quantize } from '../../../src/quantize/quantize.js';
import { createOnnxruntimeExecutor } from './helpers/ort-executor.js';
import { smallModel, smallSamples } from './helpers/small.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'octet-q-'));
const opts = { executor: createOnnxruntimeExecutor, progress: false as const };

describe('npy reader and writer', () => {
  it('round-trips every supported dtype', () => {
    const arrays = [Float32Array.of(1.5, -2), Float64Array.of(3), Int32Array.of(-7, 8, 9), BigInt64Array.of(5n, -6n), Uint8Array.of(255), Int8Array.of(-128)];
    for (const a of arrays) {
      const r = readNpy(writeNpy(a, [a.length]));
      expect(r.data).toEqual(a);
      expect(r.dims).toEqual([a.length]);
    }
    expect(readNpy(writeNpy(new Float32Array(6), [2, 3])).dims).toEqual([2, 3]);
    expect(readNpy(writeNpy(Float32Array.of(4), [])).dims).toEqual([]);
  });
  it('rejects bad files with the reason', () => {
    expect(() => readNpy(Uint8Array.of(1, 2, 3))).toThrow('npy data: not a .npy file (bad magic)');
    const good = writeNpy(new Float32Array(4), [4]);
    expect(() => readNpy(good.subarray(0, good.length - 1))).toThrow('npy data: holds 15 data bytes but shape (4) of <f4 needs 16');
    const be = new TextDecoder('latin1').decode(good).replace('<f4', '>f4');
    expect(() => readNpy(Uint8Array.from(be, (c) => c.charCodeAt(0)))).toThrow("npy data: unsupported dtype '>f4' (supported: little-endian f4, f8, i4, i8, u1, i1, i2, u2, b1)");
    const fortran = new TextDecoder('latin1').decode(good).replace("'fortran_order': False", "'fortran_order': True ");
    expect(() => readNpy(Uint8Array.from(fortran, (c) => c.charCodeAt(0)))).toThrow('npy data: Fortran-order arrays are not supported (save with C order)');
    expect(() => writeNpy(new Float32Array(3), [2])).toThrow(new RangeError('Expected shape with 3 elements for dims but received Array of length 1'));
  });
});

describe('calibration data problems', () => {
  it('an empty or missing folder', async () => {
    const dir = tmp();
    await expect(quantize(smallModel(), { ...opts, calibration: dir })).rejects.toThrow(`Calibration folder '${dir}' holds no .npy files or images`);
    await expect(quantize(smallModel(), { ...opts, calibration: join(dir, 'nope') })).rejects.toThrow(`Calibration folder '${join(dir, 'nope')}' does not exist`);
    await expect(quantize(smallModel(), { ...opts, calibration: [] })).rejects.toThrow('Calibration data is empty: no samples');
  });
  it('.npy files of the wrong shape or dtype name the file', async () => {
    const dir = tmp();
    writeFileSync(join(dir, '0.npy'), writeNpy(new Float32Array(3 * 8 * 8), [1, 3, 8, 8]));
    writeFileSync(join(dir, '1.npy'), writeNpy(new Float32Array(3 * 4 * 4), [1, 3, 4, 4]));
    await expect(quantize(smallModel(), { ...opts, calibration: dir })).rejects.toThrow(`${join(dir, '1.npy')}: input 'x' has shape [1, 3, 4, 4] but the model expects [1, 3, 8, 8]`);
    writeFileSync(join(dir, '1.npy'), writeNpy(new Float64Array(3 * 8 * 8), [1, 3, 8, 8]));
    await expect(quantize(smallModel(), { ...opts, calibration: dir })).rejects.toThrow(`${join(dir, '1.npy')}: input 'x' is float64 but the model expects float32`);
    writeFileSync(join(dir, '1.npy'), writeNpy(new Float32Array(3 * 8 * 8).fill(0.5), [1, 3, 8, 8]));
    const { report } = await quantize(smallModel(), { ...opts, calibration: dir });
    expect(report.calibration!.samples).toBe(2);
  });
  it('NaN/Inf samples are skipped with a warning and counted', async () => {
    const samples = smallSamples(3);
    (samples[1].x.data as Float32Array)[5] = NaN;
    const warnings: string[] = [];
    const { report } = await quantize(smallModel(), { ...opts, calibration: samples, onWarning: (m) => warnings.push(m) });
    expect(report.calibration).toMatchObject({ samples: 2, skippedSamples: 1 });
    expect(warnings).toEqual(["Calibration sample 1: input 'x' holds NaN or Infinity; skipped", '1 of 3 calibration samples skipped (NaN or Infinity)']);
    for (const s of samples) (s.x.data as Float32Array)[0] = Infinity;
    await expect(quantize(smallModel(), { ...opts, calibration: samples })).rejects.toThrow('All 3 calibration samples were skipped (NaN or Infinity in every one)');
  });
  it('all-zero activations get a non-zero scale', async () => {
    const zeros = [{ x: { data: new Float32Array(3 * 8 * 8), dims: [1, 3, 8, 8] } }];
    const { report } = await quantize(smallModel(), { ...opts, calibration: zeros });
    const x = report.tensors.find((t) => t.tensor === 'x')!;
    expect(x.scale).toBe(1);
    expect(report.tensors.every((t) => (Array.isArray(t.scale) ? t.scale.every((s) => s > 0) : t.scale > 0))).toBe(true);
  });
  it('an AbortSignal stops calibration between samples: ERR_OCTET_ABORTED saying how far it got', async () => {
    const abort = new AbortController();
    const samples = smallSamples(6);
    // A source that pulls the plug while the third sample is being produced.
    const source = Object.assign(
      (function* () {
        for (const [i, s] of samples.entries()) {
          if (i === 2) abort.abort();
          yield s;
        }
      })(),
      { length: samples.length },
    );
    const err = await quantize(smallModel(), { ...opts, calibration: source, signal: abort.signal }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'OctetError', code: 'ERR_OCTET_ABORTED', message: 'calibration was aborted after 2 of 6 samples' });
    await expect(quantize(smallModel(), { ...opts, calibration: samples, signal: abort.signal })).rejects.toThrow('calibration was aborted after 0 of 6 samples');
    await expect(quantize(smallModel(), { ...opts, calibration: samples, signal: 'stop' as never })).rejects.toThrow(
      new TypeError("Expected AbortSignal for options.signal but received 'stop' of type string"),
    );
  });
  it("a sample source that fails mid-way rejects with the source's own error", async () => {
    const failing = (function* () {
      yield smallSamples(1)[0];
      throw new Error('camera unplugged');
    })();
    await expect(quantize(smallModel(), { ...opts, calibration: failing })).rejects.toThrow('camera unplugged');
  });
  it('a sample without the model input is named', async () => {
    await expect(quantize(smallModel(), { ...opts, calibration: [{ y: { data: new Float32Array(1), dims: [1] } }] })).rejects.toThrow(
      "Calibration sample 0 has no input 'x' (the model's inputs: x)",
    );
  });
});

describe('octet quantize (CLI)', () => {
  const io = () => {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l), color: false } };
  };
  it('writes the weight-only / dynamic model atomically and reports', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'in.onnx'), serializeModel(smallModel()));
    const t = io();
    expect(await main(['quantize', join(dir, 'in.onnx'), '-o', join(dir, 'out.onnx'), '--weight-only'], t.io)).toBe(0);
    expect(t.out[0]).toBe(`${join(dir, 'out.onnx')}: weight-only, 2 nodes quantized, 2 tensors`);
    expect(readdirSync(dir).sort()).toEqual(['in.onnx', 'out.onnx']);
  });
  it('a read-only output folder: a clear error and no file, partial or temporary', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'in.onnx'), serializeModel(smallModel()));
    const ro = join(dir, 'ro');
    mkdirSync(ro);
    chmodSync(ro, 0o555);
    const t = io();
    const code = await main(['quantize', join(dir, 'in.onnx'), '-o', join(ro, 'out.onnx'), '--dynamic'], t.io);
    if (process.getuid?.() === 0) return; // root writes anywhere
    expect(code).toBe(1);
    expect(t.err[0]).toMatch(new RegExp(`^octet quantize: error: cannot write '${join(ro, 'out.onnx')}': EACCES`));
    expect(readdirSync(ro)).toEqual([]);
    expect(existsSync(join(ro, 'out.onnx'))).toBe(false);
  });
  it('usage errors', async () => {
    const t = io();
    expect(await main(['quantize', 'a.onnx'], t.io)).toBe(1);
    expect(t.err[0]).toBe('octet quantize: error: missing -o OUT.onnx');
    expect(await main(['quantize', 'a.onnx', '-o', 'b.onnx', '--method', 'kl'], t.io)).toBe(1);
    expect(t.err[1]).toBe("octet quantize: error: --method must be one of minmax, entropy, percentile, mse, got 'kl'");
  });
});
