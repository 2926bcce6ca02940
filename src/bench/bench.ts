/**
 * The measurement behind `octet bench` and `npm run bench` (bench/run.mjs uses the built dist/bench.js), so
 * both measure the same way:
 *
 * 1. Session creation: octet's `InferenceSession.create()` then the peer's, each timed once, after both
 *    native libraries are loaded. A first run at each batch size is timed apart (octet prepares the plan for
 *    new input sizes there; onnxruntime allocates).
 * 2. For each batch size: `warmup` untimed runs, then `runs` timed runs, octet and the peer interleaved run by
 *    run on the same model file in the same process (octet, peer, peer, octet, ...: the order alternates so
 *    neither always runs on a cache the other just warmed), so machine noise hits both alike.
 * 3. Median and p90 per runtime and batch, throughput = batch · 1000 / median, and the speed-up of octet over
 *    the peer (peer time / octet time: > 1 means octet is faster).
 * 4. Peak RSS of each runtime alone, in a child process (see memory.ts).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { backends, defaultBackend } from '../backends.js';
import { createProgress, type Progress } from '../calibration/progress.js';
import { invalidParameterError, OctetError } from '../errors.js';
import { tensorType } from '../ir/value.js';
import { loadModel, serializeModel } from '../onnx/io.js';
import type { ExecutionBackend } from '../runtime/inference-session.js';
import { expectKnownKeys, isPlainObject } from '../validate.js';
import { batchSkipReason, dimsAt, inputData, needsRewrite, planInputs, type InputOverride, type InputPlan, type PlannedInput } from './inputs.js';
import { measureMemory, memoryChildScript, type MemoryCase, type MemoryResult } from './memory.js';
import { octetRuntime, onnxruntimePeer, type BenchRuntime, type BenchSession, type RuntimeName } from './runtimes.js';
import { latencyStats, speedup, type LatencyStats } from './stats.js';

export interface BenchOptions {
  /** Kernel threads for octet, intra-op threads for the peer. Default 1. */
  threads?: number;
  /** Timed runs per batch size. Default 30. */
  runs?: number;
  /** Untimed runs per batch size before timing (after the first run). Default 3. */
  warmup?: number;
  /** Batch sizes to measure. Default [1, 8]. */
  batches?: number[];
  /** Run onnxruntime-node interleaved with octet. Default none. */
  peer?: 'onnxruntime' | null;
  /** octet's int8 backend. Default 'auto'. */
  backend?: ExecutionBackend;
  /** Shapes or .npy files for inputs (needed for symbolic dims other than the batch). */
  inputs?: InputOverride[];
  /** Measure each runtime's peak RSS in a child process. Default true. */
  memory?: boolean;
  /** A progress bar on stderr when it is a TTY. Default true. */
  progress?: boolean;
}

export interface RuntimeBatchResult extends LatencyStats {
  /** The first run at this batch size (plan preparation, allocations), not in the statistics. */
  firstRunMs: number;
}

export interface BatchResult {
  batch: number;
  /** Why this batch size was not measured. */
  skipped?: string;
  octet?: RuntimeBatchResult;
  onnxruntime?: RuntimeBatchResult;
  /** Peer over octet: median and p90 times, and octet's throughput over the peer's. */
  speedup?: { median: number; p90: number; throughput: number };
}

export type Int8Library = 'xnnpack' | 'onednn' | 'onednn+xnnpack';

/**
 * Which libraries ran the int8 Conv / FullyConnected kernels of a plan (`fallback` when it has none). oneDNN's
 * float32 kernels are named onednn:conv_f32:…, onednn:matmul_f32:… and onednn:sgemm; its others are int8.
 */
export function int8Library(kernels: readonly string[], fallback: 'xnnpack' | 'onednn'): Int8Library {
  const dense = kernels.filter((k) => /^(onednn:(?!conv_f32:|matmul_f32:|sgemm)|xnnpack:(convolution2d_nhwc_q|fully_connected_nc_q))/.test(k));
  const onednn = dense.some((k) => k.startsWith('onednn:'));
  const xnnpack = dense.some((k) => k.startsWith('xnnpack:'));
  return onednn && xnnpack ? 'onednn+xnnpack' : onednn ? 'onednn' : xnnpack ? 'xnnpack' : fallback;
}

export interface BenchReport {
  model: string;
  threads: number;
  runs: number;
  warmup: number;
  /**
   * The backend asked for, and the library of the int8 Conv/FullyConnected layers that ran ('onednn+xnnpack' when
   * 'auto' split them: on x86 without VNNI, 7-bit layers run on oneDNN); for a model without such layers, what
   * 'auto' resolves to on this CPU.
   */
  backend: { requested: ExecutionBackend; int8: Int8Library };
  octet: { version: string };
  peer: { name: 'onnxruntime'; version: string } | null;
  inputs: { name: string; type: string; modelShape: (number | string)[]; shape: number[]; batchAxes: number[]; source: string; value?: number }[];
  session: { octet: { createMs: number }; onnxruntime?: { createMs: number }; speedup?: number };
  batches: BatchResult[];
  /** Peak RSS per runtime, each measured alone in a child process; a string says why one is missing. */
  memory: { octet?: MemoryResult | string; onnxruntime?: MemoryResult | string } | null;
}

const KEYS = ['threads', 'runs', 'warmup', 'batches', 'peer', 'backend', 'inputs', 'memory', 'progress'] as const;

function positiveInt(name: string, v: unknown, def: number, min = 1): number {
  if (v === undefined) return def;
  if (typeof v !== 'number') throw invalidParameterError(name, min === 0 ? 'non-negative integer' : 'positive integer', v);
  if (!Number.isInteger(v) || v < min) throw invalidParameterError(name, min === 0 ? 'non-negative integer' : 'positive integer', v, true);
  return v;
}

/** octet's version from its package.json (beside dist/ or two folders above src/bench/). */
function octetVersion(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(fileURLToPath(new URL(rel, import.meta.url)), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'octet') return pkg.version ?? '';
    } catch {
      // try the next
    }
  }
  return '';
}

/** A copy of the model whose inputs fixed to batch 1 take a symbolic batch (intermediate shapes dropped). */
function writeBatchable(modelPath: string, plan: InputPlan, dir: string): string {
  const model = loadModel(modelPath);
  const g = model.graph;
  let symbol = 'batch';
  while (plan.inputs.some((i) => i.modelShape.includes(symbol))) symbol = `_${symbol}`;
  const batched = new Set(plan.inputs.filter((i) => i.batchAxes.length > 0).map((i) => i.name));
  for (const v of g.inputs) {
    const t = v.tensorType;
    if (batched.has(v.name) && t?.shape) v.type = tensorType(t.elemType, [symbol, ...t.shape.slice(1)]);
  }
  for (const v of g.outputs) {
    const t = v.tensorType;
    if (t?.shape && t.shape[0] === 1) v.type = tensorType(t.elemType, [null, ...t.shape.slice(1)]);
  }
  // Shapes recorded for intermediate values were inferred at batch 1.
  for (const v of g.values.values()) if (!g.inputs.includes(v) && !g.outputs.includes(v) && !v.initializer) v.type = undefined;
  g.valueInfo.splice(0, g.valueInfo.length);
  const out = join(dir, 'batchable.onnx');
  writeFileSync(out, serializeModel(model));
  return out;
}

interface Contender {
  name: RuntimeName;
  session: BenchSession;
  prepared: unknown;
}

const firstLine = (err: unknown): string => String((err as Error)?.message ?? err).split('\n')[0];

/** Benchmarks one model file (see the header). Throws OctetError ERR_OCTET_BENCH for a setup the user must fix. */
export async function benchmark(modelPath: string, options: BenchOptions = {}): Promise<BenchReport> {
  if (typeof modelPath !== 'string' || modelPath === '') throw invalidParameterError('modelPath', 'non-empty path string', modelPath);
  if (!isPlainObject(options as unknown)) throw invalidParameterError('options', 'object', options);
  expectKnownKeys('options', options as Record<string, unknown>, KEYS);
  const threads = positiveInt('options.threads', options.threads, 1);
  const runs = positiveInt('options.runs', options.runs, 30);
  const warmup = positiveInt('options.warmup', options.warmup, 3, 0);
  const batches = options.batches ?? [1, 8];
  if (!Array.isArray(batches) || batches.length === 0) throw invalidParameterError('options.batches', 'non-empty Array of positive integers', batches);
  batches.forEach((b, i) => positiveInt(`options.batches[${i}]`, b, 1));
  const backend = options.backend ?? 'auto';
  const settings = { threads, backend };

  // Load both native libraries before anything is timed.
  backends();
  if (options.peer !== undefined && options.peer !== null && options.peer !== 'onnxruntime') {
    throw invalidParameterError('options.peer', "'onnxruntime' or null", options.peer, typeof options.peer === 'string');
  }
  const octet = octetRuntime(settings, octetVersion());
  const peer: BenchRuntime | null = options.peer === 'onnxruntime' ? await onnxruntimePeer(settings) : null;

  let t0 = performance.now();
  const octetSession = await octet.create(modelPath);
  const octetCreateMs = performance.now() - t0;
  const dir = mkdtempSync(join(tmpdir(), 'octet-bench-'));
  const opened: BenchSession[] = [octetSession];
  let progress: Progress | undefined;
  try {
    const plan = planInputs(octetSession.inputMetadata ?? [], options.inputs ?? []);
    let peerSession: BenchSession | undefined;
    let peerCreateMs = 0;
    if (peer) {
      t0 = performance.now();
      try {
        peerSession = await peer.create(modelPath);
      } catch (err) {
        throw new OctetError('ERR_OCTET_BENCH', `onnxruntime-node cannot load '${modelPath}': ${firstLine(err)}`);
      }
      peerCreateMs = performance.now() - t0;
      opened.push(peerSession);
    }

    const measured = batches.filter((b) => batchSkipReason(plan, b) === undefined).length;
    progress = createProgress(measured * (warmup + runs), `bench ${modelPath.split('/').pop()}`, { quiet: options.progress === false });
    const results: BatchResult[] = [];
    const memoryCases: MemoryCase[] = [];
    let batchable: string | undefined;
    for (const batch of batches) {
      const skip = batchSkipReason(plan, batch);
      if (skip) {
        results.push({ batch, skipped: skip });
        continue;
      }
      let model = modelPath;
      const contenders: Contender[] = [];
      const local: BenchSession[] = [];
      try {
        if (needsRewrite(plan, batch)) {
          batchable ??= writeBatchable(modelPath, plan, dir);
          model = batchable;
          for (const r of [octet, ...(peer ? [peer] : [])]) {
            const s = await r.create(model).catch((err: unknown) => {
              throw new SkipBatch(`${r.name === 'octet' ? 'octet' : 'onnxruntime-node'} cannot load the model with its batch dimension set: ${firstLine(err)}`);
            });
            local.push(s);
            contenders.push({ name: r.name, session: s, prepared: undefined });
          }
        } else {
          contenders.push({ name: 'octet', session: octetSession, prepared: undefined });
          if (peerSession) contenders.push({ name: 'onnxruntime', session: peerSession, prepared: undefined });
        }
        const feeds = plan.inputs.map((i: PlannedInput) => ({ name: i.name, type: i.type, data: inputData(i, batch), dims: dimsAt(i, batch) }));
        const firstRunMs: number[] = [];
        for (const c of contenders) {
          c.prepared = c.session.prepare(feeds);
          t0 = performance.now();
          try {
            await c.session.run(c.prepared);
          } catch (err) {
            const who = c.name === 'octet' ? 'octet' : 'onnxruntime-node';
            if (batch === 1 && !needsRewrite(plan, batch)) {
              if (c.name === 'octet') throw err;
              throw new OctetError('ERR_OCTET_BENCH', `onnxruntime-node cannot run '${modelPath}': ${firstLine(err)}`);
            }
            throw new SkipBatch(`${who} does not run the model at batch ${batch}: ${firstLine(err)}`);
          }
          firstRunMs.push(performance.now() - t0);
        }
        const times = await interleave(contenders, warmup, runs, () => progress!.tick());
        const result: BatchResult = { batch };
        contenders.forEach((c, k) => (result[c.name] = { ...latencyStats(times[k], batch), firstRunMs: firstRunMs[k] }));
        if (result.octet && result.onnxruntime) {
          result.speedup = {
            median: speedup(result.onnxruntime.medianMs, result.octet.medianMs),
            p90: speedup(result.onnxruntime.p90Ms, result.octet.p90Ms),
            throughput: result.octet.throughput / result.onnxruntime.throughput,
          };
        }
        results.push(result);
        memoryCases.push({ batch, model, inputs: plan.inputs });
      } catch (err) {
        if (!(err instanceof SkipBatch)) throw err;
        progress!.tick(warmup + runs);
        results.push({ batch, skipped: err.message });
      } finally {
        for (const s of local) await s.release();
      }
    }
    progress.done();
    for (const s of opened.splice(0)) await s.release();

    let memory: BenchReport['memory'] = null;
    if (options.memory !== false && memoryCases.length > 0) {
      memory = {};
      const script = memoryChildScript();
      for (const r of [octet, ...(peer ? [peer] : [])]) {
        if (!script) {
          memory[r.name] = 'dist/bench.js is not built (npm run build:ts)';
          continue;
        }
        try {
          memory[r.name] = await measureMemory({ runtime: r.name, threads, backend, runs: warmup + 3, cases: memoryCases }, script);
        } catch (err) {
          memory[r.name] = firstLine(err);
        }
      }
    }

    return {
      model: modelPath,
      threads,
      runs,
      warmup,
      backend: { requested: backend, int8: int8Library(octetSession.implementations?.() ?? [], backend === 'auto' ? defaultBackend() : backend) },
      octet: { version: octet.version },
      peer: peer ? { name: 'onnxruntime', version: peer.version } : null,
      inputs: plan.inputs.map((i) => ({ name: i.name, type: i.type, modelShape: i.modelShape, shape: i.shape, batchAxes: i.batchAxes, source: i.source, ...(i.value !== undefined ? { value: i.value } : {}) })),
      session: {
        octet: { createMs: octetCreateMs },
        ...(peer ? { onnxruntime: { createMs: peerCreateMs }, speedup: speedup(peerCreateMs, octetCreateMs) } : {}),
      },
      batches: results,
      memory,
    };
  } finally {
    progress?.done(); // ends the bar's line before an error message too
    for (const s of opened) await s.release();
    rmSync(dir, { recursive: true, force: true });
  }
}

class SkipBatch extends Error {}

/** Warm-up, then timed runs with the order alternating each round; returns the times per contender. */
async function interleave(contenders: Contender[], warmup: number, runs: number, tick: () => void): Promise<number[][]> {
  const forward = contenders.map((_, k) => k);
  const backward = [...forward].reverse();
  for (let i = 0; i < warmup; i++) {
    for (const k of i % 2 === 0 ? forward : backward) await contenders[k].session.run(contenders[k].prepared);
    tick();
  }
  const times = contenders.map(() => [] as number[]);
  for (let i = 0; i < runs; i++) {
    for (const k of i % 2 === 0 ? forward : backward) {
      const t = performance.now();
      await contenders[k].session.run(contenders[k].prepared);
      times[k].push(performance.now() - t);
    }
    tick();
  }
  return times;
}
