import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { batchSkipReason, dimsAt, inputData, planInputs } from '../../../src/bench/inputs.js';
import type { BenchReport } from '../../../src/bench/bench.js';
import { importPeer } from '../../../src/bench/runtimes.js';
import { measureMemory, memoryChildScript } from '../../../src/bench/memory.js';
import { latencyStats } from '../../../src/bench/stats.js';
import type { CliIO } from '../../../src/cli/command.js';
import { main } from '../../../src/cli/main.js';
import { writeNpy } from '../../../src/quantize/data.js';
import { InferenceSession } from '../../../src/runtime/inference-session-impl.js';
import { MODELS_DIR } from '../onnx/helpers/onnx.js';
import { photoTensor } from '../onnx/helpers/images.js';
import { octet } from './helpers/spawn.js';

const CLS = join(MODELS_DIR, 'ppocr_cls.onnx');

function capture(): CliIO & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, color: false, out: (l) => stdout.push(l), err: (l) => stderr.push(l) };
}

async function userError(args: string[]): Promise<string> {
  const io = capture();
  const code = await main(['bench', ...args], io);
  expect(io.stderr).toHaveLength(1);
  expect(code).toBe(1);
  return io.stderr[0];
}

describe('octet bench: invalid arguments', () => {
  it('needs exactly one model', async () => {
    expect(await userError([])).toBe(
      'octet bench: error: expected one MODEL.onnx, got 0: octet bench MODEL.onnx [--threads N] [--runs N] [--warmup N] [--batch 1,8] [--peer onnxruntime] [--backend auto|xnnpack|onednn] [--input NAME=SHAPE|NAME=FILE.npy ...] [--json]',
    );
  });

  it('rejects bad numbers, batch lists, peers and backends by name', async () => {
    expect(await userError([CLS, '--threads', '0'])).toBe("octet bench: error: --threads: expected a positive integer, got '0'");
    expect(await userError([CLS, '--runs', '2.5'])).toBe("octet bench: error: --runs: expected a positive integer, got '2.5'");
    expect(await userError([CLS, '--warmup=-1'])).toBe("octet bench: error: --warmup: expected a non-negative integer, got '-1'");
    expect(await userError([CLS, '--batch', '1,0'])).toBe("octet bench: error: --batch: expected positive integers separated by commas, got '1,0'");
    expect(await userError([CLS, '--batch', '8,8'])).toBe("octet bench: error: --batch: '8,8' lists a batch size twice");
    expect(await userError([CLS, '--peer', 'tensorflow'])).toBe("octet bench: error: --peer: expected onnxruntime, got 'tensorflow'");
    expect(await userError([CLS, '--backend', 'cuda'])).toBe("octet bench: error: --backend: expected auto, xnnpack or onednn, got 'cuda'");
    expect(await userError([CLS, '--treads', '2'])).toBe("octet bench: error: Unknown option '--treads'");
  });

  it('rejects malformed --input values', async () => {
    expect(await userError([CLS, '--input', 'x'])).toBe("octet bench: error: --input expects NAME=D,D,..., NAME=FILE.npy or NAME=VALUE, got 'x'");
    expect(await userError([CLS, '--input', 'x=1,3,a,192'])).toBe("octet bench: error: --input x: expected positive dims like 1,3,224,224, a .npy file or a number, got '1,3,a,192'");
    expect(await userError([CLS, '--input', 'x=missing.npy'])).toBe('octet bench: error: --input x=missing.npy: no such file');
  });

  it('names a missing model file', async () => {
    expect(await userError(['/nonexistent/model.onnx'])).toBe("octet bench: error: cannot read '/nonexistent/model.onnx': no such file");
  });

  it('asks for the shape of symbolic dims other than the batch, and checks a given shape against the model', async () => {
    expect(await userError([CLS])).toBe(
      "octet bench: error: input 'x' has symbolic dims (p2o.DynamicDimension.1, p2o.DynamicDimension.2): give its shape with --input x=1,3,?,?",
    );
    expect(await userError([CLS, '--input', 'y=1,3,48,192'])).toBe("octet bench: error: --input y=1,3,48,192: the model has no input 'y'; its inputs are x");
    expect(await userError([CLS, '--input', 'x=2,3,48,192'])).toBe('octet bench: error: --input x=2,3,48,192: dim 0 is the batch dimension, set by --batch; give 1, got 2');
    expect(await userError([CLS, '--input', 'x=1,4,48,192'])).toBe("octet bench: error: --input x=1,4,48,192: dim 1 of 'x' is fixed to 3 in the model, got 4");
    expect(await userError([CLS, '--input', 'x=3,48,192'])).toBe(
      "octet bench: error: --input x=3,48,192: the model's input 'x' has rank 4 ([p2o.DynamicDimension.0, 3, p2o.DynamicDimension.1, p2o.DynamicDimension.2]), got rank 3 ([3, 48, 192])",
    );
  });

  it('says how to install onnxruntime-node when the peer package is missing', async () => {
    await expect(importPeer('onnxruntime-node-not-installed')).rejects.toThrow(
      '--peer onnxruntime needs the optional package onnxruntime-node-not-installed, which is not installed: npm install onnxruntime-node-not-installed',
    );
  });
});

describe('bench inputs and statistics', () => {
  it('median, p90 (nearest rank) and throughput', () => {
    expect(latencyStats([4, 1, 3, 2], 8)).toEqual({ medianMs: 2.5, p90Ms: 4, minMs: 1, meanMs: 2.5, throughput: 3200, runs: 4 });
    expect(latencyStats([5], 1)).toEqual({ medianMs: 5, p90Ms: 5, minMs: 5, meanMs: 5, throughput: 200, runs: 1 });
    const ten = latencyStats([10, 9, 8, 7, 6, 5, 4, 3, 2, 1], 1);
    expect([ten.medianMs, ten.p90Ms]).toEqual([5.5, 9]);
  });

  it('Silero VAD: the batch symbol sets dim 1 of the state too; a scalar takes NAME=VALUE; int64 inputs are zeros otherwise', async () => {
    const s = await InferenceSession.create(join(MODELS_DIR, 'silero_vad_op18_ifless.onnx'));
    const plan = planInputs(s.inputMetadata, [
      { name: 'input', shape: [1, 512] },
      { name: 'sr', shape: [16000] },
    ]);
    await s.release();
    expect(plan.batch).toEqual({ kind: 'symbolic', symbol: 'batch' });
    expect(plan.inputs.map((i) => [i.name, i.shape, i.batchAxes, i.source])).toEqual([
      ['input', [1, 512], [0], 'random'],
      ['sr', [], [], 'value'],
      ['state', [2, 1, 128], [1], 'random'],
    ]);
    const state = plan.inputs[2];
    expect(dimsAt(state, 8)).toEqual([2, 8, 128]);
    expect(inputData(state, 8)).toHaveLength(2 * 8 * 128);
    expect(inputData(plan.inputs[1], 8)).toEqual(new BigInt64Array([16000n]));
    // The same values in every call (both runtimes, the memory child).
    expect(inputData(state, 1)).toEqual(inputData(state, 1));
    expect(batchSkipReason(plan, 8)).toBeUndefined();
    const noSr = planInputs(s.inputMetadata, [{ name: 'input', shape: [1, 512] }]);
    expect(noSr.inputs[1].source).toBe('zeros');
    expect(inputData(noSr.inputs[1], 1)).toEqual(new BigInt64Array([0n]));
  });

  it('a .npy input holds one sample and is repeated along the batch axis', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'octet-bench-')), 'page.npy');
    const page = photoTensor('page.png', 192, 48);
    writeFileSync(file, writeNpy(page, [1, 3, 48, 192]));
    const s = await InferenceSession.create(CLS);
    const plan = planInputs(s.inputMetadata, [{ name: 'x', file }]);
    await s.release();
    expect(plan.inputs[0].shape).toEqual([1, 3, 48, 192]);
    const two = inputData(plan.inputs[0], 2) as Float32Array;
    expect(two).toHaveLength(2 * page.length);
    expect(two.subarray(0, page.length)).toEqual(page);
    expect(two.subarray(page.length)).toEqual(page);
  });

  it('a model that fixes its batch to 1 (BlazeFace): batch 8 is tried and skipped with the reason', async () => {
    const io = capture();
    expect(await main(['bench', join(MODELS_DIR, 'blazeface_front.onnx'), '--runs', '2', '--warmup', '0', '--json'], io)).toBe(0);
    const r = JSON.parse(io.stdout.join('\n')) as BenchReport;
    expect(r.inputs[0]).toMatchObject({ name: 'input:0', shape: [1, 128, 128, 3], batchAxes: [0] });
    expect(r.batches[0].batch).toBe(1);
    expect(r.batches[0].octet!.medianMs).toBeGreaterThan(0);
    // Its Reshapes/Concats are written for batch 1: no runtime can run it at 8.
    expect(r.batches[1].batch).toBe(8);
    expect(r.batches[1].skipped).toMatch(/^octet does not run the model at batch 8: node '.+' \(.+\): /);
  });
});

describe('octet bench on PP-OCR cls against onnxruntime-node (spawned, as a user runs it)', () => {
  it('reports latency, throughput, creation and peak RSS per runtime, with peer/octet ratios', async () => {
    const r = await octet(['bench', CLS, '--input', 'x=1,3,48,192', '--peer', 'onnxruntime', '--runs', '5', '--warmup', '1', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe(''); // not a TTY: no progress bar
    const rep = JSON.parse(r.stdout) as BenchReport;
    expect(rep).toMatchObject({ threads: 1, runs: 5, warmup: 1, peer: { name: 'onnxruntime' }, backend: { requested: 'auto' } });
    expect(rep.peer!.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(rep.inputs).toEqual([
      { name: 'x', type: 'float32', modelShape: ['p2o.DynamicDimension.0', 3, 'p2o.DynamicDimension.1', 'p2o.DynamicDimension.2'], shape: [1, 3, 48, 192], batchAxes: [0], source: 'random' },
    ]);
    expect(rep.session.octet.createMs).toBeGreaterThan(0);
    expect(rep.session.onnxruntime!.createMs).toBeGreaterThan(0);
    expect(rep.session.speedup).toBeCloseTo(rep.session.onnxruntime!.createMs / rep.session.octet.createMs, 10);
    expect(rep.batches.map((b) => b.batch)).toEqual([1, 8]);
    for (const b of rep.batches) {
      expect(b.skipped).toBeUndefined();
      for (const x of [b.octet!, b.onnxruntime!]) {
        expect(x.runs).toBe(5);
        expect(x.medianMs).toBeGreaterThan(0);
        expect(x.p90Ms).toBeGreaterThanOrEqual(x.medianMs);
        expect(x.minMs).toBeLessThanOrEqual(x.medianMs);
        expect(x.firstRunMs).toBeGreaterThan(0);
        expect(x.throughput).toBeCloseTo((b.batch * 1000) / x.medianMs, 8);
        // A 48x192 classifier on one core: well under a second per image, above a microsecond.
        expect(x.medianMs / b.batch).toBeLessThan(1000);
        expect(x.medianMs / b.batch).toBeGreaterThan(0.001);
      }
      expect(b.speedup!.median).toBeCloseTo(b.onnxruntime!.medianMs / b.octet!.medianMs, 10);
      expect(b.speedup!.p90).toBeCloseTo(b.onnxruntime!.p90Ms / b.octet!.p90Ms, 10);
      expect(b.speedup!.throughput).toBeCloseTo(b.octet!.throughput / b.onnxruntime!.throughput, 10);
    }
    for (const m of [rep.memory!.octet, rep.memory!.onnxruntime]) {
      if (typeof m === 'string' || m === undefined) throw new Error(`peak RSS not measured: ${m}`);
      // Node alone is ~40 MiB; the model and its buffers add to the runtime's baseline.
      expect(m.baselineRssMiB).toBeGreaterThan(20);
      expect(m.peakRssMiB).toBeGreaterThan(m.baselineRssMiB);
      expect(m.peakRssMiB).toBeLessThan(2048);
    }
  }, 300_000);

  it("a memory child reports its own peak, not the parent's resident set (getrusage carries it across spawn)", async () => {
    const script = memoryChildScript();
    if (!script) throw new Error('dist/bench.js is not built (npm run build:ts)');
    const spec = { runtime: 'octet' as const, threads: 1, backend: 'auto' as const, runs: 1, cases: [] };
    const alone = await measureMemory(spec, script);
    const ballast = Buffer.alloc(600 * 1024 * 1024, 1); // resident in this (the parent) process
    const withBallast = await measureMemory(spec, script);
    expect(ballast[ballast.length - 1]).toBe(1);
    expect(alone.peakRssMiB).toBeLessThan(300);
    expect(Math.abs(withBallast.peakRssMiB - alone.peakRssMiB)).toBeLessThan(50);
  }, 60_000);

  it('prints a table with the speed-ups in text mode', async () => {
    const r = await octet(['bench', CLS, '--input', 'x=1,3,48,192', '--batch', '1', '--runs', '3', '--warmup', '0', '--peer', 'onnxruntime']);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^ppocr_cls\.onnx: octet \S+ \(int8 backend (xnnpack|onednn|onednn\+xnnpack)\) vs onnxruntime-node \d+\.\d+\.\d+, 1 thread, 3 runs after 0 warm-up, interleaved$/);
    expect(lines[1]).toBe('input x float32 [1, 3, 48, 192] random, batch axis 0');
    expect(r.stdout).toMatch(/\n {2}median \(ms\) +\d+\.\d+ +\d+\.\d+ +\d+\.\d+x\n/);
    expect(r.stdout).toMatch(/\npeak RSS \(MiB\) +\d+\.\d +\d+\.\d\n/);
    expect(r.stdout).not.toContain('\x1b');
  }, 300_000);
});
