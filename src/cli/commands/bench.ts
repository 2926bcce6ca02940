/**
 * octet bench MODEL.onnx [--threads N] [--runs N] [--warmup N] [--batch 1,8] [--peer onnxruntime]
 *   [--backend auto|xnnpack|onednn] [--input NAME=SHAPE|NAME=FILE.npy ...] [--json]
 * Latency (median, p90), throughput, session creation and peak RSS of octet, optionally against onnxruntime-node
 * interleaved run by run; the measurement is src/bench's, the same as `npm run bench`.
 */
import { existsSync } from 'node:fs';
import { basename } from 'node:path';

import { benchmark, type BenchReport } from '../../bench/bench.js';
import type { InputOverride } from '../../bench/inputs.js';
import type { MemoryResult } from '../../bench/memory.js';
import type { ExecutionBackend } from '../../runtime/inference-session.js';
import { UsageError, type CliIO, type Command, type CommandArgs } from '../command.js';

function integer(flag: string, v: unknown, def: number, min: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!/^\d+$/.test(String(v)) || n < min) throw new UsageError(`${flag}: expected a ${min === 0 ? 'non-negative' : 'positive'} integer, got '${String(v)}'`);
  return n;
}

function parseInput(item: string): InputOverride {
  const i = item.indexOf('=');
  const name = item.slice(0, i);
  const value = item.slice(i + 1);
  if (i <= 0 || value === '') throw new UsageError(`--input expects NAME=D,D,..., NAME=FILE.npy or NAME=VALUE, got '${item}'`);
  if (value.endsWith('.npy')) return { name, file: value };
  // One number is a shape of rank 1 or, for a scalar input, its value: planInputs tells them apart.
  if (/^-?\d+(\.\d+)?$/.test(value)) return { name, shape: [Number(value)] };
  const dims = value.split(',');
  if (!dims.every((d) => /^\d+$/.test(d) && Number(d) > 0)) throw new UsageError(`--input ${name}: expected positive dims like 1,3,224,224, a .npy file or a number, got '${value}'`);
  return { name, shape: dims.map(Number) };
}

const ms = (x: number): string => (x >= 100 ? x.toFixed(1) : x.toFixed(2));
const perSecond = (x: number): string => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const mib = (x: number): string => x.toFixed(1);

function print(r: BenchReport, io: CliIO): void {
  const bold = (s: string): string => (io.color ? `\x1b[1m${s}\x1b[0m` : s);
  const dim = (s: string): string => (io.color ? `\x1b[2m${s}\x1b[0m` : s);
  const ratio = (x: number | undefined): string => {
    if (x === undefined) return '';
    const s = `${x.toFixed(2)}x`;
    return io.color ? `\x1b[${x >= 1 ? 32 : 31}m${s}\x1b[0m` : s;
  };
  const peer = r.peer !== null;
  const threads = `${r.threads} thread${r.threads === 1 ? '' : 's'}`;
  io.out(
    bold(`${basename(r.model)}: octet ${r.octet.version} (int8 backend ${r.backend.int8})${peer ? ` vs onnxruntime-node ${r.peer!.version}` : ''}, ${threads}, ${r.runs} runs after ${r.warmup} warm-up${peer ? ', interleaved' : ''}`),
  );
  for (const i of r.inputs) {
    const source = i.source === 'value' ? `= ${i.value}` : i.source === 'random' || i.source === 'zeros' ? i.source : `from ${i.source}`;
    io.out(`input ${i.name} ${i.type} [${i.shape.join(', ')}] ${source}${i.batchAxes.length ? `, batch axis ${i.batchAxes.join(',')}` : ''}`);
  }
  io.out('');
  const rows: [string, string, string, string][] = [['', 'octet', peer ? 'onnxruntime' : '', peer ? 'speed-up' : '']];
  rows.push(['session create (ms)', ms(r.session.octet.createMs), peer ? ms(r.session.onnxruntime!.createMs) : '', ratio(r.session.speedup)]);
  for (const b of r.batches) {
    if (b.skipped) {
      rows.push([`batch ${b.batch}: skipped (${b.skipped})`, '', '', '']);
      continue;
    }
    const o = b.octet!;
    const p = b.onnxruntime;
    rows.push([`batch ${b.batch}`, '', '', '']);
    rows.push(['  first run (ms)', ms(o.firstRunMs), p ? ms(p.firstRunMs) : '', '']);
    rows.push(['  median (ms)', ms(o.medianMs), p ? ms(p.medianMs) : '', ratio(b.speedup?.median)]);
    rows.push(['  p90 (ms)', ms(o.p90Ms), p ? ms(p.p90Ms) : '', ratio(b.speedup?.p90)]);
    rows.push(['  throughput (/s)', perSecond(o.throughput), p ? perSecond(p.throughput) : '', ratio(b.speedup?.throughput)]);
  }
  if (r.memory) {
    const m = (x: MemoryResult | string | undefined, key: 'peakRssMiB' | 'above'): string =>
      x === undefined ? '' : typeof x === 'string' ? 'n/a' : mib(key === 'peakRssMiB' ? x.peakRssMiB : x.peakRssMiB - x.baselineRssMiB);
    rows.push(['peak RSS (MiB)', m(r.memory.octet, 'peakRssMiB'), peer ? m(r.memory.onnxruntime, 'peakRssMiB') : '', '']);
    rows.push(['  above runtime baseline', m(r.memory.octet, 'above'), peer ? m(r.memory.onnxruntime, 'above') : '', '']);
  }
  // Skipped-batch lines run across the columns; the others align.
  const plain = (s: string): string => s.replace(/\x1b\[\d+m/g, '');
  const w0 = Math.max(...rows.filter((x) => x[1] !== '' || x[0] === '').map((x) => x[0].length));
  const w = [1, 2, 3].map((k) => Math.max(...rows.map((x) => plain(x[k]).length)));
  for (const row of rows) {
    if (row[1] === '' && row[2] === '' && row[3] === '' && row[0] !== '') {
      io.out(row[0]);
      continue;
    }
    const cells = [row[0].padEnd(w0), ...[1, 2, 3].map((k) => ' '.repeat(w[k - 1] - plain(row[k]).length) + row[k])];
    io.out(cells.join('  ').trimEnd());
  }
  if (r.memory) {
    for (const [name, x] of Object.entries(r.memory)) if (typeof x === 'string') io.out(dim(`peak RSS of ${name}: not measured (${x})`));
  }
  if (peer) io.out(dim('speed-up: onnxruntime time / octet time, and octet throughput / onnxruntime throughput (> 1: octet is faster)'));
}

export const benchCommand: Command = {
  name: 'bench',
  summary: 'Measure latency, throughput, session creation and peak memory, optionally against onnxruntime-node',
  usage: 'octet bench MODEL.onnx [--threads N] [--runs N] [--warmup N] [--batch 1,8] [--peer onnxruntime] [--backend auto|xnnpack|onednn] [--input NAME=SHAPE|NAME=FILE.npy ...] [--json]',
  help: [
    'Options:',
    '  --threads N           kernel threads (onnxruntime: intra-op threads) (default 1)',
    '  --runs N              timed runs per batch size (default 30)',
    '  --warmup N            untimed runs per batch size before timing (default 3)',
    '  --batch B,B           batch sizes (default 1,8); skipped, with the reason, where the model fixes its batch',
    '  --peer onnxruntime    also run onnxruntime-node (an optional peer package), interleaved run by run',
    '  --backend B           octet\'s Conv/Gemm/MatMul library (int8 and float32): auto (default), xnnpack or onednn',
    '  --input NAME=D,D,...  an input\'s shape at batch 1, for symbolic dims (random data) (repeatable)',
    '  --input NAME=F.npy    an input\'s values from a .npy file holding one sample (repeatable)',
    '  --input NAME=VALUE    the value of a scalar input, e.g. sr=16000',
    '  --json                print the report as JSON (times in ms, memory in MiB, speed-ups peer/octet)',
    '',
    'Examples:',
    '  octet bench model.onnx --input x=1,3,48,192',
    '  octet bench model.int8.onnx --input x=1,3,48,192 --peer onnxruntime --threads 2',
    '  octet bench model.onnx --input x=image.npy --batch 1 --runs 100 --json',
  ],
  options: {
    threads: { type: 'string' },
    runs: { type: 'string' },
    warmup: { type: 'string' },
    batch: { type: 'string' },
    peer: { type: 'string' },
    backend: { type: 'string' },
    input: { type: 'string', multiple: true },
    json: { type: 'boolean' },
  },
  async run(args: CommandArgs, io: CliIO): Promise<number> {
    const v = args.values;
    if (args.positionals.length !== 1) throw new UsageError(`expected one MODEL.onnx, got ${args.positionals.length}: ${benchCommand.usage}`);
    const model = args.positionals[0];
    const threads = integer('--threads', v.threads, 1, 1);
    const runs = integer('--runs', v.runs, 30, 1);
    const warmup = integer('--warmup', v.warmup, 3, 0);
    const batchText = v.batch === undefined ? '1,8' : String(v.batch);
    const batches = batchText.split(',').map(Number);
    if (!batchText.split(',').every((b) => /^\d+$/.test(b)) || batches.some((b) => b < 1)) {
      throw new UsageError(`--batch: expected positive integers separated by commas, got '${batchText}'`);
    }
    if (new Set(batches).size !== batches.length) throw new UsageError(`--batch: '${batchText}' lists a batch size twice`);
    if (v.peer !== undefined && v.peer !== 'onnxruntime') throw new UsageError(`--peer: expected onnxruntime, got '${String(v.peer)}'`);
    const backend = (v.backend ?? 'auto') as string;
    if (!['auto', 'xnnpack', 'onednn'].includes(backend)) throw new UsageError(`--backend: expected auto, xnnpack or onednn, got '${backend}'`);
    const inputs = ((v.input ?? []) as string[]).map(parseInput);
    if (!existsSync(model)) throw new UsageError(`cannot read '${model}': no such file`);
    const report = await benchmark(model, {
      threads,
      runs,
      warmup,
      batches,
      peer: v.peer === 'onnxruntime' ? 'onnxruntime' : null,
      backend: backend as ExecutionBackend,
      inputs,
    });
    if (v.json) io.out(JSON.stringify(report, null, 2));
    else print(report, io);
    return 0;
  },
};
