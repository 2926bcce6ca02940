import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { backends, FullyConnectedInt8, OctetError, onednnHasInt8Dot, referenceFullyConnected, type FullyConnectedInt8Options } from '../../../src/index.js';
import { getBinding } from '../../../src/binding.js';
import { randomInt8, randomUint8, rng } from '../../helpers/random.js';

// oneDNN computes int8 exactly with an int8 dot product (VNNI/AMX); without one only uint8 sources with 7-bit weights
// (test/unit/runtime/onednn-seven-bit.test.ts), anything else is refused (tested below).
const available = backends()
  .filter((b) => b.available && (b.name !== 'onednn' || onednnHasInt8Dot()))
  .map((b) => b.name);
const onednnWithoutDot = backends().some((b) => b.name === 'onednn' && b.available) && !onednnHasInt8Dot();

function baseOptions(): FullyConnectedInt8Options {
  return {
    backend: 'xnnpack',
    inputChannels: 4,
    outputChannels: 3,
    weights: new Int8Array(12).fill(1),
    weightScale: 0.02,
    input: { scale: 0.05, zeroPoint: 3 },
    output: { scale: 0.1, zeroPoint: -5 },
  };
}

describe('FullyConnectedInt8.create: invalid arguments', () => {
  it('rejects weights of the wrong length, naming the argument', () => {
    expect(() => FullyConnectedInt8.create({ ...baseOptions(), weights: new Int8Array(11) })).toThrow(
      new RangeError('Expected Int8Array of length outputChannels*inputChannels = 12 for weights but received Int8Array of length 11'),
    );
  });

  it('rejects weights of the wrong type', () => {
    expect(() => FullyConnectedInt8.create({ ...baseOptions(), weights: new Uint8Array(12) as unknown as Int8Array })).toThrow(
      new TypeError('Expected Int8Array for weights but received Uint8Array of length 12 of type object'.replace(' of type object', '')),
    );
  });

  it('rejects a zero, negative, NaN or non-number scale', () => {
    expect(() => FullyConnectedInt8.create({ ...baseOptions(), input: { scale: 0, zeroPoint: 0 } })).toThrow(
      new RangeError('Expected positive finite number for input.scale but received 0 of type number'),
    );
    expect(() => FullyConnectedInt8.create({ ...baseOptions(), output: { scale: -1, zeroPoint: 0 } })).toThrow(
      new RangeError('Expected positive finite number for output.scale but received -1 of type number'),
    );
    expect(() => FullyConnectedInt8.create({ ...baseOptions(), weightScale: Number.NaN })).toThrow(
      new RangeError('Expected positive finite number for weightScale but received NaN of type number'),
    );
    expect(() => FullyConnectedInt8.create({ ...baseOptions(), weightScale: Float32Array.of(0.1, 0, 0.1) })).toThrow(
      new RangeError('Expected positive finite number for weightScale[1] but received 0 of type number'),
    );
    expect(() => FullyConnectedInt8.create({ ...baseOptions(), weightScale: '0.1' as unknown as number })).toThrow(
      new TypeError("Expected number, Float32Array or number[] for weightScale but received '0.1' of type string"),
    );
    // 1e-50 is positive as a double but 0 as float32: the kernels would divide by zero.
    expect(() => FullyConnectedInt8.create({ ...baseOptions(), input: { scale: 1e-50, zeroPoint: 0 } })).toThrow(RangeError);
  });

  it('rejects per-channel scales whose count matches neither 1 nor outputChannels', () => {
    expect(() => FullyConnectedInt8.create({ ...baseOptions(), weightScale: [0.1, 0.2] })).toThrow(
      new RangeError('Expected one scale or outputChannels = 3 scales for weightScale but received Array of length 2'),
    );
  });

  it('rejects zero points outside the activation type', () => {
    expect(() => FullyConnectedInt8.create({ ...baseOptions(), input: { scale: 1, zeroPoint: 128 } })).toThrow(
      new RangeError('Expected integer between -128 and 127 for input.zeroPoint but received 128 of type number'),
    );
    expect(() => FullyConnectedInt8.create({ ...baseOptions(), dtype: 'uint8', output: { scale: 1, zeroPoint: -1 } })).toThrow(
      new RangeError('Expected integer between 0 and 255 for output.zeroPoint but received -1 of type number'),
    );
    expect(() => FullyConnectedInt8.create({ ...baseOptions(), input: { scale: 1, zeroPoint: 1.5 } })).toThrow(RangeError);
  });

  it('rejects a bias of the wrong length and a clamp that is empty', () => {
    expect(() => FullyConnectedInt8.create({ ...baseOptions(), bias: new Int32Array(2) })).toThrow(
      new RangeError('Expected Int32Array of length outputChannels = 3 for bias but received Int32Array of length 2'),
    );
    expect(() => FullyConnectedInt8.create({ ...baseOptions(), outputMin: 10, outputMax: 9 })).toThrow(
      new RangeError('Expected integer >= outputMin (10) for outputMax but received 9 of type number'),
    );
  });

  it('names misspelled options', () => {
    expect(() => FullyConnectedInt8.create({ ...baseOptions(), wieghts: 1 } as unknown as FullyConnectedInt8Options)).toThrow(
      new TypeError("Unknown option 'wieghts' in options; did you mean 'weights'?"),
    );
    expect(() => FullyConnectedInt8.create({ ...baseOptions(), input: { scale: 1, zeroPiont: 0 } } as unknown as FullyConnectedInt8Options)).toThrow(
      new TypeError("Unknown option 'zeroPiont' in input; did you mean 'zeroPoint'?"),
    );
    expect(() => FullyConnectedInt8.create({ ...baseOptions(), backend: 'fbgemm' as 'onednn' })).toThrow(
      new RangeError("Expected one of 'auto', 'xnnpack', 'onednn' for backend but received 'fbgemm' of type string"),
    );
  });

  it('reports a vendor refusal as a typed error instead of crashing', () => {
    // XNNPACK requires input_scale*weight_scale/output_scale < 256.
    let err: unknown;
    try {
      FullyConnectedInt8.create({ ...baseOptions(), input: { scale: 1000, zeroPoint: 0 }, output: { scale: 1e-3, zeroPoint: 0 } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OctetError);
    expect((err as OctetError).code).toBe('ERR_OCTET_XNNPACK');
    expect((err as OctetError).message).toMatch(/^xnn_create_fully_connected_nc_qs8 failed: xnn_status_unsupported_parameter/);
    // The JS stack of the caller is kept.
    expect((err as OctetError).stack).toContain('fully-connected.test.ts');
  });
});

describe.runIf(onednnWithoutDot)('FullyConnectedInt8 on oneDNN without an int8 dot product', () => {
  it('is refused for an int8 source with ERR_OCTET_BACKEND_UNAVAILABLE naming the ISA (7-bit uint8 layers: onednn-seven-bit.test.ts)', () => {
    const isa = backends().find((b) => b.name === 'onednn')!.isa;
    let err: unknown;
    try {
      FullyConnectedInt8.create({ ...baseOptions(), backend: 'onednn' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OctetError);
    expect((err as OctetError).code).toBe('ERR_OCTET_BACKEND_UNAVAILABLE');
    expect((err as OctetError).message).toBe(
      `backend 'onednn' cannot run FullyConnectedInt8 exactly on this CPU (oneDNN ISA '${isa}'): its source is int8 (oneDNN halves int8-source ` +
        `weights here). Without an int8 dot product (AVX-512 VNNI, AVX-VNNI or AMX) its u8·s8 pair sums saturate at 16 bits unless the source ` +
        `is uint8 and every weight is within [-64, 64] (quantize with reduceRange); use backend 'xnnpack' or 'auto'`,
    );
  });
});

describe('FullyConnectedInt8.run: invalid arguments', () => {
  it('rejects inputs of the wrong type or a length that is not a multiple of inputChannels', async () => {
    const fc = FullyConnectedInt8.create(baseOptions());
    await expect(fc.run(new Int8Array(6))).rejects.toThrow(
      new RangeError('Expected Int8Array whose length is a multiple of inputChannels = 4 for input but received Int8Array of length 6'),
    );
    expect(() => fc.runSync(new Uint8Array(4) as unknown as Int8Array)).toThrow(new TypeError('Expected Int8Array for input but received Uint8Array of length 4'));
    expect(() => fc.runSync(new Int8Array(8), new Int8Array(5))).toThrow(
      new RangeError('Expected Int8Array of length batch*outputChannels = 6 for output but received Int8Array of length 5'),
    );
    fc.release();
  });

  it('throws a typed error after release', async () => {
    const fc = FullyConnectedInt8.create(baseOptions());
    fc.release();
    fc.release();
    expect(() => fc.runSync(new Int8Array(4))).toThrow(expect.objectContaining({ code: 'ERR_OCTET_RELEASED' }));
    await expect(fc.run(new Int8Array(4))).rejects.toMatchObject({ code: 'ERR_OCTET_RELEASED' });
  });

  it('the native layer checks sizes itself when called directly', () => {
    const { FullyConnected } = getBinding();
    const params = {
      inputChannels: 4,
      outputChannels: 3,
      dtype: 'int8' as const,
      inputScale: 0.05,
      inputZeroPoint: 0,
      weights: new Int8Array(12),
      weightScales: Float32Array.of(0.1),
      outputScale: 0.1,
      outputZeroPoint: 0,
      outputMin: -128,
      outputMax: 127,
      threads: 1,
    };
    expect(() => new FullyConnected('xnnpack', { ...params, weights: new Int8Array(5) })).toThrow(/Expected weights of length outputChannels\*inputChannels = 12/);
    expect(() => new FullyConnected('nope', params)).toThrow(/backend 'nope' is not built in/);
    expect(() => new FullyConnected('xnnpack', { ...params, inputScale: 0 })).toThrow(/Expected positive float32 for inputScale/);
    const fc = new FullyConnected('xnnpack', params);
    expect(() => fc.runSync(new Int8Array(4), new Int8Array(3), 2)).toThrow(/Expected input of length batch\*inputChannels = 8 but received 4/);
    expect(() => fc.runSync(new Int8Array(4), new Int8Array(3), -1)).toThrow(/Expected non-negative integer for batch/);
    expect(() => fc.runSync(new Float32Array(4) as unknown as Int8Array, new Int8Array(3), 1)).toThrow(/Expected Int8Array for input but received Float32Array/);
    fc.release();
  });
});

interface Case {
  batch: number;
  k: number;
  n: number;
  perChannel: boolean;
  bias: boolean;
  dtype: 'int8' | 'uint8';
  clamp: boolean;
  threads: number;
}

function makeCase(c: Case, seed: number) {
  const next = rng(seed);
  const lo = c.dtype === 'int8' ? -128 : 0;
  const input = c.dtype === 'int8' ? randomInt8(c.batch * c.k, next) : randomUint8(c.batch * c.k, next);
  const weights = randomInt8(c.n * c.k, next, -127, 127);
  const inputScale = 0.01 + next() * 0.05;
  const inputZeroPoint = lo + 100 + Math.floor(next() * 50);
  const weightScales = c.perChannel ? Float32Array.from({ length: c.n }, () => 0.001 + next() * 0.01) : Float32Array.of(0.004);
  const bias = c.bias ? Int32Array.from({ length: c.n }, () => Math.floor((next() - 0.5) * 20000)) : undefined;
  // Output scale so that roughly 3 standard deviations of the real output fill the int8 range.
  const std = Math.sqrt(c.k) * 73 * 70 * inputScale * (c.perChannel ? 0.006 : 0.004);
  const outputScale = (6 * std) / 255;
  const outputZeroPoint = lo + 120;
  const outputMin = c.clamp ? outputZeroPoint : lo;
  const outputMax = c.clamp ? lo + 250 : lo + 255;
  return { input, weights, inputScale, inputZeroPoint, weightScales, bias, outputScale, outputZeroPoint, outputMin, outputMax };
}

const cases: Case[] = [
  { batch: 1, k: 3, n: 1, perChannel: false, bias: false, dtype: 'int8', clamp: false, threads: 1 },
  { batch: 7, k: 64, n: 16, perChannel: false, bias: true, dtype: 'int8', clamp: false, threads: 1 },
  { batch: 7, k: 64, n: 16, perChannel: true, bias: true, dtype: 'int8', clamp: false, threads: 1 },
  { batch: 33, k: 257, n: 100, perChannel: true, bias: true, dtype: 'int8', clamp: true, threads: 1 },
  { batch: 5, k: 48, n: 24, perChannel: false, bias: true, dtype: 'uint8', clamp: false, threads: 1 },
  { batch: 5, k: 48, n: 24, perChannel: true, bias: false, dtype: 'uint8', clamp: true, threads: 1 },
  { batch: 128, k: 512, n: 256, perChannel: true, bias: true, dtype: 'int8', clamp: false, threads: 2 },
];

describe.each(available)('FullyConnectedInt8 on %s matches the scalar reference', (backend) => {
  it.each(cases)('batch $batch, K $k, N $n, perChannel $perChannel, bias $bias, $dtype, clamp $clamp, threads $threads', async (c) => {
    const d = makeCase(c, c.batch * 1000 + c.k * 10 + c.n);
    const fc = FullyConnectedInt8.create({
      backend,
      dtype: c.dtype,
      inputChannels: c.k,
      outputChannels: c.n,
      weights: d.weights,
      weightScale: d.weightScales,
      bias: d.bias,
      input: { scale: d.inputScale, zeroPoint: d.inputZeroPoint },
      output: { scale: d.outputScale, zeroPoint: d.outputZeroPoint },
      outputMin: d.outputMin,
      outputMax: d.outputMax,
      threads: c.threads,
    });
    expect(fc.backend).toBe(backend);
    expect(fc.perChannel).toBe(c.perChannel);
    expect(fc.implementation).toMatch(new RegExp(`^${backend}:`));

    const expected = referenceFullyConnected({
      ...d,
      batch: c.batch,
      inputChannels: c.k,
      outputChannels: c.n,
      weightScales: d.weightScales,
    });
    const got = await fc.run(d.input);
    const sync = fc.runSync(d.input);
    expect(Array.from(sync)).toEqual(Array.from(got));

    // Documented tolerance: the vendors requantize in float32, the reference in float64, so a value that
    // lands within float32 error of a .5 tie may round the other way: at most ±1, and rarely.
    let mismatches = 0;
    let saturated = 0;
    for (let i = 0; i < expected.length; i++) {
      const diff = Math.abs(got[i] - expected[i]);
      expect(diff).toBeLessThanOrEqual(1);
      if (diff !== 0) mismatches++;
      if (expected[i] === d.outputMin || expected[i] === d.outputMax) saturated++;
    }
    expect(mismatches / expected.length).toBeLessThan(0.01);
    // The data exercise the clamp but do not collapse onto it.
    expect(saturated / expected.length).toBeLessThan(0.6);
    if (c.clamp) expect(saturated).toBeGreaterThan(0);
    fc.release();
  });

  it('reuses a caller-provided output buffer and handles an empty batch', async () => {
    const d = makeCase(cases[1], 1);
    const fc = FullyConnectedInt8.create({
      backend,
      inputChannels: 64,
      outputChannels: 16,
      weights: d.weights,
      weightScale: d.weightScales,
      input: { scale: d.inputScale, zeroPoint: d.inputZeroPoint },
      output: { scale: d.outputScale, zeroPoint: d.outputZeroPoint },
    });
    const out = new Int8Array(7 * 16);
    const y = await fc.run(d.input as Int8Array, out);
    expect(y).toBe(out);
    expect(out.some((v) => v !== 0)).toBe(true);
    expect((await fc.run(new Int8Array(0))).length).toBe(0);
    fc.release();
  });

  it('keeps the event loop free and the buffers alive during concurrent runs', async () => {
    const c: Case = { batch: 256, k: 1024, n: 1024, perChannel: true, bias: true, dtype: 'int8', clamp: false, threads: 1 };
    const d = makeCase(c, 7);
    const fc = FullyConnectedInt8.create({
      backend,
      inputChannels: c.k,
      outputChannels: c.n,
      weights: d.weights,
      weightScale: d.weightScales,
      bias: d.bias,
      input: { scale: d.inputScale, zeroPoint: d.inputZeroPoint },
      output: { scale: d.outputScale, zeroPoint: d.outputZeroPoint },
    });
    const expected = fc.runSync(d.input as Int8Array);
    const results = await Promise.all(Array.from({ length: 4 }, () => fc.run(Int8Array.from(d.input as Int8Array))));
    for (const r of results) expect(Buffer.from(r.buffer).equals(Buffer.from(expected.buffer))).toBe(true);
    fc.release();
  });
});

describe('backends()', () => {
  it('reports XNNPACK with the CPU features cpuinfo detects', () => {
    const x = backends().find((b) => b.name === 'xnnpack');
    expect(x?.available).toBe(true);
    expect(x?.features?.length).toBeGreaterThan(0);
    if (process.arch === 'x64') expect(x?.features).toContain('avx2');
    if (process.arch === 'arm64') expect(x?.features).toContain('neon');
  });

  it.runIf(process.arch === 'x64')('reports oneDNN and the ISA it dispatches to on x64', () => {
    const o = backends().find((b) => b.name === 'onednn');
    expect(o?.available).toBe(true);
    expect(o?.version).toBe('2.6.3');
    expect(o?.isa).toMatch(/^(sse41|avx|avx2|avx2_vnni|avx512_core|avx512_core_vnni|avx512_core_amx)$/);
    // The x86 reference machines have AVX-512 VNNI; elsewhere the ISA must at least agree with /proc/cpuinfo.
    const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
    if (/\bavx512_vnni\b/.test(cpuinfo)) expect(o?.features).toContain('avx512_core_vnni');
  });
});
