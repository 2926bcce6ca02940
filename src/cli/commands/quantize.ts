/**
 * octet quantize IN.onnx -o OUT.onnx --calibration DIR [--method minmax|entropy|percentile|mse]
 *   [--per-channel|--per-tensor] [--format qdq|qoperator] [--dynamic] [--weight-only]
 *   [--activation-type int8|uint8] [--exclude NODE,...] [--op-types Conv,MatMul,...] [--freeze NAME=V] [--json]
 * Writes OUT atomically: to a temporary file beside it, renamed over OUT only when complete. Interrupted
 * (SIGINT/SIGTERM) it stops calibrating, writes nothing and exits with 130.
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

import { OctetError } from '../../errors.js';
import { serializeModel } from '../../onnx/io.js';
import { quantize, type QuantizeOptions, type QuantizeReport } from '../../quantize/quantize.js';
import { UsageError, type CliIO, type Command, type CommandArgs } from '../command.js';

/** Writes bytes to `path` through a temporary file and a rename: never a partial file at `path`. */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new UsageError(`cannot write '${path}': ${(err as Error).message}`);
  }
}

function list(v: unknown): string[] | undefined {
  if (v === undefined) return undefined;
  return String(v)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function oneOf<T extends string>(flag: string, v: unknown, allowed: readonly T[]): T | undefined {
  if (v === undefined) return undefined;
  if (!allowed.includes(v as T)) throw new UsageError(`${flag} must be one of ${allowed.join(', ')}, got '${String(v)}'`);
  return v as T;
}

function summary(report: QuantizeReport, out: string, io: CliIO): void {
  const c = report.counts;
  io.out(`${out}: ${report.mode}${report.mode === 'static' ? ` ${report.format}` : ''}, ${c.quantizedNodes} nodes quantized, ${report.tensors.length} tensors`);
  if (report.calibration) {
    const k = report.calibration;
    io.out(`calibration: ${k.method}, ${k.samples} samples${k.skippedSamples ? ` (${k.skippedSamples} skipped)` : ''}, ${k.tensors} activations`);
  }
  for (const n of report.notes) io.out(`note: ${n}`);
  const reasons = new Map<string, number>();
  for (const s of report.skipped) reasons.set(`${s.opType}: ${s.reason}`, (reasons.get(`${s.opType}: ${s.reason}`) ?? 0) + 1);
  for (const [r, n] of reasons) io.out(`left in fp32: ${n} x ${r}`);
}

export const quantizeCommand: Command = {
  name: 'quantize',
  summary: 'Quantize a model to int8 (static QDQ/QOperator with calibration, dynamic, or weight-only)',
  usage: 'octet quantize IN.onnx -o OUT.onnx [--calibration DIR] [--method M] [--per-channel|--per-tensor] [--format qdq|qoperator] [--dynamic] [--weight-only] [--activation-type int8|uint8] [--exclude NODE,...] [--op-types Conv,MatMul,...]',
  help: [
    'Options:',
    '  -o, --output OUT.onnx       where to write the quantized model (atomically)',
    '  --calibration DIR           folder of .npy samples (or subfolders of <input>.npy) or .jpg/.png images',
    '  --method M                  minmax (default), entropy, percentile, mse',
    '  --per-channel, --per-tensor weight granularity (default per channel)',
    '  --format F                  qdq (default) or qoperator',
    '  --dynamic                   dynamic quantization (MatMul/Gemm; no calibration)',
    '  --weight-only               int8 weights only (no calibration)',
    '  --activation-type T         uint8 (default) or int8',
    '  --exclude NODE,...          node names left in fp32',
    '  --op-types OP,...           op types to quantize',
    '  --max-samples N             use at most N calibration samples',
    '  --freeze NAME=VALUE         treat an input as a constant (e.g. sr=16000)',
    '  --shape NAME=D,D,...        fix an input\'s shape (images are resized to its height and width)',
    '  --mean M[,M,M] --std S[,S,S] image normalisation after scaling pixels to [0, 1] (default 0 and 1)',
    '  --json                      print the full report as JSON',
    'Static quantization calibrates on octet\'s own fp32 runtime.',
    '',
    'Example:',
    '  octet quantize ppocr_cls.onnx -o ppocr_cls.int8.onnx --calibration photos/ --shape x=1,3,48,192 --mean 0.5 --std 0.5',
  ],
  options: {
    output: { type: 'string', short: 'o' },
    calibration: { type: 'string' },
    method: { type: 'string' },
    'per-channel': { type: 'boolean' },
    'per-tensor': { type: 'boolean' },
    format: { type: 'string' },
    dynamic: { type: 'boolean' },
    'weight-only': { type: 'boolean' },
    'activation-type': { type: 'string' },
    exclude: { type: 'string' },
    'op-types': { type: 'string' },
    'max-samples': { type: 'string' },
    freeze: { type: 'string', multiple: true },
    shape: { type: 'string', multiple: true },
    mean: { type: 'string' },
    std: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(args: CommandArgs, io: CliIO): Promise<number> {
    const v = args.values;
    if (args.positionals.length !== 1) throw new UsageError(`expected one IN.onnx, got ${args.positionals.length}: ${quantizeCommand.usage}`);
    if (typeof v.output !== 'string' || v.output === '') throw new UsageError('missing -o OUT.onnx');
    if (v['per-channel'] && v['per-tensor']) throw new UsageError('--per-channel and --per-tensor exclude each other');
    const options: QuantizeOptions = {
      method: oneOf('--method', v.method, ['minmax', 'entropy', 'percentile', 'mse'] as const),
      format: oneOf('--format', v.format, ['qdq', 'qoperator'] as const),
      activationType: oneOf('--activation-type', v['activation-type'], ['int8', 'uint8'] as const),
      dynamic: v.dynamic === true ? true : undefined,
      weightOnly: v['weight-only'] === true ? true : undefined,
      perChannel: v['per-tensor'] ? false : undefined,
      exclude: list(v.exclude),
      opTypes: list(v['op-types']),
      calibration: typeof v.calibration === 'string' ? v.calibration : undefined,
      onWarning: (m) => io.err(`warning: ${m}`),
    };
    if (v['max-samples'] !== undefined) {
      const n = Number(v['max-samples']);
      if (!Number.isInteger(n) || n < 1) throw new UsageError(`--max-samples must be a positive integer, got '${String(v['max-samples'])}'`);
      options.maxSamples = n;
    }
    const freeze = (Array.isArray(v.freeze) ? v.freeze : []) as string[];
    if (freeze.length > 0) {
      options.freezeInputs = {};
      for (const item of freeze) {
        const i = item.lastIndexOf('=');
        const n = Number(item.slice(i + 1));
        if (i <= 0 || !Number.isFinite(n)) throw new UsageError(`--freeze expects NAME=NUMBER, got '${item}'`);
        options.freezeInputs[item.slice(0, i)] = n;
      }
    }
    const shapes = (Array.isArray(v.shape) ? v.shape : []) as string[];
    if (shapes.length > 0) {
      options.inputShapes = {};
      for (const item of shapes) {
        const i = item.lastIndexOf('=');
        const dims = item.slice(i + 1).split(',').map(Number);
        if (i <= 0 || dims.some((d) => !Number.isInteger(d) || d < 1)) throw new UsageError(`--shape expects NAME=D,D,..., got '${item}'`);
        options.inputShapes[item.slice(0, i)] = dims;
      }
    }
    const numbers = (flag: string, text: unknown): number | number[] | undefined => {
      if (text === undefined) return undefined;
      const list = String(text).split(',').map(Number);
      if (list.some((x) => !Number.isFinite(x))) throw new UsageError(`${flag} expects a number or a comma-separated list, got '${String(text)}'`);
      return list.length === 1 ? list[0] : list;
    };
    const mean = numbers('--mean', v.mean);
    const std = numbers('--std', v.std);
    if (mean !== undefined || std !== undefined) options.image = { ...(mean !== undefined ? { mean } : {}), ...(std !== undefined ? { std } : {}) };
    for (const k of Object.keys(options) as (keyof QuantizeOptions)[]) if (options[k] === undefined) delete options[k];
    // Ctrl-C (or SIGTERM) stops calibration at the next sample: nothing is written, exit code 130. A second
    // signal exits at once; nothing has been written then either (OUT is only ever renamed into place).
    const abort = new AbortController();
    const onSignal = (): void => {
      if (abort.signal.aborted) process.exit(130);
      abort.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    let result;
    let stopped = '';
    try {
      result = await quantize(args.positionals[0], { ...options, signal: abort.signal });
    } catch (err) {
      if (!(err instanceof OctetError && err.code === 'ERR_OCTET_ABORTED')) throw err;
      stopped = ` (${err.message})`;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    if (result === undefined || abort.signal.aborted) {
      io.err(`octet quantize: interrupted${stopped}; nothing written to '${v.output}'`);
      return 130;
    }
    const { model, report } = result;
    writeFileAtomic(v.output, serializeModel(model));
    if (v.json) io.out(JSON.stringify(report, null, 2));
    else summary(report, v.output, io);
    return 0;
  },
};
