/**
 * Peak resident memory per runtime. A process's peak resident set (peakRssKiB) is a high-water mark of the whole
 * process, so in the benchmark process (both runtimes loaded, sessions of both alive) it cannot say which
 * runtime used what. Each runtime is therefore measured alone, in a child process (`node dist/bench.js
 * --memory-child SPEC`): load the runtime (baseline), create the session, then run every measured batch size
 * once plus the warm-up and a few timed runs' worth; report the baseline and the peak. peak − baseline is what the
 * model costs in that runtime; the baseline is Node plus the runtime's libraries.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { dimsAt, inputData, type PlannedInput } from './inputs.js';
import { octetRuntime, onnxruntimePeer, type BenchRuntime, type RuntimeName } from './runtimes.js';
import type { ExecutionBackend } from '../runtime/inference-session.js';

export interface MemoryCase {
  batch: number;
  model: string;
  inputs: PlannedInput[];
}

export interface MemorySpec {
  runtime: RuntimeName;
  threads: number;
  backend: ExecutionBackend;
  /** Runs per batch size after the first one (warm-up plus a few timed runs' worth). */
  runs: number;
  cases: MemoryCase[];
}

export interface MemoryResult {
  /** Peak resident set of the child process over the whole measurement, MiB. */
  peakRssMiB: number;
  /** Its peak after loading the runtime, before reading the model, MiB. */
  baselineRssMiB: number;
}

const MIB = 1024; // peaks are in KiB

/**
 * This process's peak resident set, KiB. On Linux it is VmHWM from /proc/self/status: the high-water mark of the
 * process's own address space. `resourceUsage().maxRSS` (getrusage) would carry the parent's resident set over
 * into a spawned child (Linux keeps the larger of the two across fork and exec), so a benchmark process holding
 * big models made both runtimes' children report the parent's figure. Elsewhere maxRSS is the fallback.
 */
export function peakRssKiB(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]);
  } catch {
    // not Linux: fall through
  }
  return process.resourceUsage().maxRSS;
}

/** dist/bench.js: beside the bundle that calls this (dist/cli.js, dist/bench.js), or dist/ seen from src/bench/. */
export function memoryChildScript(): string | undefined {
  for (const rel of ['./bench.js', '../../dist/bench.js']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** Runs the spec in a child process; resolves to the result or rejects with the child's first error line. */
export function measureMemory(spec: MemorySpec, script: string): Promise<MemoryResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, '--memory-child', JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      try {
        if (code === 0) return resolve(JSON.parse(line) as MemoryResult);
      } catch {
        // fall through to the error below
      }
      reject(new Error(`the ${spec.runtime} memory run exited with code ${code}: ${(err.trim().split('\n')[0] || line).slice(0, 300)}`));
    });
  });
}

/** The child's side: measure one runtime alone and print one JSON line. */
export async function runMemoryChild(spec: MemorySpec): Promise<MemoryResult> {
  const settings = { threads: spec.threads, backend: spec.backend };
  let runtime: BenchRuntime;
  if (spec.runtime === 'octet') {
    runtime = octetRuntime(settings);
    // Load the addon (and the vendor libraries) before the baseline, as importing onnxruntime-node does.
    const { backends } = await import('../backends.js');
    backends();
  } else {
    runtime = await onnxruntimePeer(settings);
  }
  const baseline = peakRssKiB();
  const sessions = new Map<string, Awaited<ReturnType<BenchRuntime['create']>>>();
  for (const c of spec.cases) {
    let session = sessions.get(c.model);
    if (!session) {
      session = await runtime.create(c.model);
      sessions.set(c.model, session);
    }
    const prepared = session.prepare(c.inputs.map((i) => ({ name: i.name, type: i.type, data: inputData(i, c.batch), dims: dimsAt(i, c.batch) })));
    for (let i = 0; i <= spec.runs; i++) await session.run(prepared);
  }
  const peak = peakRssKiB();
  for (const s of sessions.values()) await s.release();
  return { peakRssMiB: peak / MIB, baselineRssMiB: baseline / MIB };
}
