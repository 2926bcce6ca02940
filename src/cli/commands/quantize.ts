/**
 * octet quantize IN.onnx -o OUT.onnx --calibration DIR [--method minmax|entropy|percentile|mse]
 *   [--per-channel|--per-tensor] [--format qdq|qoperator] [--dynamic] [--weight-only]
 *   [--activation-type int8|uint8|int16|uint16] [--range-margin K] [--exclude NODE,...] [--op-types Conv,MatMul,...] [--freeze NAME=V]
 *   [--equalize] [--bias-correction] [--gptq] [--json]
 *   [--target-sqnr DB] [--max-fp32-fraction F] [--hold-out-every K]   (mixed precision)
 * Writes OUT atomically: to a temporary file beside it, renamed over OUT only when complete. Interrupted
 * (SIGINT/SIGTERM) it stops calibrating, writes nothing and exits with 130.
 */
import { OctetError } from '../../errors.js';
import { serializeModel } from '../../onnx/io.js';
import { quantize, type QuantizeOptions, type QuantizeReport } from '../../quantize/quantize.js';
import { writeFileAtomic } from '../../write-file-atomic.js';
import { UsageError, type CliIO, type Command, type CommandArgs } from '../command.js';
import { DATA_HELP, DATA_OPTIONS, finiteNumber, imageOptions, inputShapes, positiveInteger } from '../data-options.js';

/** The atomic writer lives in src/write-file-atomic.ts (shared with writeReport); re-exported for the CLI's commands. */
export { writeFileAtomic };

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
  const mp = report.mixedPrecision;
  if (mp) {
    const target = mp.targetSqnr !== undefined ? `, target ${mp.targetSqnr} dB ${mp.met ? 'met' : 'NOT met'}` : '';
    io.out(`mixed precision: worst output SQNR ${mp.before.toFixed(1)} -> ${mp.after.toFixed(1)} dB on ${report.calibration?.heldOutSamples ?? 0} held-out samples${target}`);
    io.out(`kept in fp32: ${mp.fp32Nodes.length} nodes, ${(100 * mp.fp32MacFraction).toFixed(1)} % of MACs${mp.fp32Nodes.length > 0 ? `: ${mp.fp32Nodes.join(', ')}` : ''}`);
  }
}

export const quantizeCommand: Command = {
  name: 'quantize',
  summary: 'Quantize a model to int8 (static QDQ/QOperator with calibration, dynamic, or weight-only)',
  usage: 'octet quantize IN.onnx -o OUT.onnx [--calibration DIR] [options]',
  help: [
    'Options:',
    '  -o, --output OUT.onnx       where to write the quantized model (atomically)',
    '  --calibration DIR           folder of .npy samples (or subfolders of <input>.npy) or .jpg/.png images',
    '  --method M                  minmax (default), entropy, percentile, mse',
    '  --per-channel, --per-tensor weight granularity (default per channel)',
    '  --format F                  qdq (default) or qoperator',
    '  --dynamic                   dynamic quantization (MatMul/Gemm; no calibration)',
    '  --weight-only               int8 weights only (no calibration)',
    '  --activation-type T         uint8 (default), int8, or uint16/int16 (16-bit activations,',
    '                              int8 weights: opset 21, computed in fp32; not with --format qoperator)',
    '  --range-margin K            widen calibrated activation ranges K times about zero (default 2 for',
    '                              16-bit activations, 1 for 8-bit)',
    '  --reduce-range              7-bit weights: octet runs them on oneDNN on x86 CPUs without VNNI (faster),',
    '                              onnxruntime needs them there to be exact; 8-bit weights are exact in octet',
    '  --exclude NODE,...          node names left in fp32',
    '  --op-types OP,...           op types to quantize',
    '  --equalize                  cross-layer equalization of Conv pairs first (float function unchanged)',
    '  --bias-correction           add each layer\'s mean quantization shift to its bias (reads the data twice)',
    '  --gptq                      choose weight codes that keep each layer\'s output on the data (GPTQ; one more pass)',
    '  --freeze NAME=VALUE         treat an input as a constant (e.g. sr=16000)',
    ...DATA_HELP,
    '  --target-sqnr DB            mixed precision: keep the most damaging nodes in fp32 until the worst output',
    '                              reaches DB on held-out samples',
    '  --max-fp32-fraction F       mixed precision: at most this share (0..1) of the MACs in fp32',
    '  --hold-out-every K          mixed precision: hold out every K-th sample to verify on (default 4)',
    '  --json                      print the full report as JSON',
    'Static quantization calibrates on octet\'s own fp32 runtime.',
    '',
    'Examples:',
    '  octet quantize model.onnx -o model.int8.onnx --calibration photos/ --shape x=N,3,48,192 --mean 0.5 --std 0.5',
    '  octet quantize silero_vad_op18_ifless.onnx -o vad.int8.onnx --dynamic --freeze sr=16000',
    '  octet quantize model.onnx -o model.mixed.onnx --calibration photos/ --shape x=1,3,48,192 --mean 0.5 --std 0.5 --target-sqnr 25',
  ],
  options: {
    output: { type: 'string', short: 'o' },
    method: { type: 'string' },
    'per-channel': { type: 'boolean' },
    'per-tensor': { type: 'boolean' },
    format: { type: 'string' },
    dynamic: { type: 'boolean' },
    'weight-only': { type: 'boolean' },
    'activation-type': { type: 'string' },
    'range-margin': { type: 'string' },
    'reduce-range': { type: 'boolean' },
    exclude: { type: 'string' },
    'op-types': { type: 'string' },
    equalize: { type: 'boolean' },
    'bias-correction': { type: 'boolean' },
    gptq: { type: 'boolean' },
    freeze: { type: 'string', multiple: true },
    ...DATA_OPTIONS,
    'target-sqnr': { type: 'string' },
    'max-fp32-fraction': { type: 'string' },
    'hold-out-every': { type: 'string' },
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
      activationType: oneOf('--activation-type', v['activation-type'], ['int8', 'uint8', 'int16', 'uint16'] as const),
      dynamic: v.dynamic === true ? true : undefined,
      weightOnly: v['weight-only'] === true ? true : undefined,
      reduceRange: v['reduce-range'] === true ? true : undefined,
      equalize: v.equalize === true ? true : undefined,
      biasCorrection: v['bias-correction'] === true ? true : undefined,
      gptq: v.gptq === true ? true : undefined,
      perChannel: v['per-tensor'] ? false : undefined,
      exclude: list(v.exclude),
      opTypes: list(v['op-types']),
      calibration: typeof v.calibration === 'string' ? v.calibration : undefined,
      onWarning: (m) => io.err(`warning: ${m}`),
    };
    options.maxSamples = positiveInteger('--max-samples', v['max-samples']);
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
    options.inputShapes = inputShapes(v);
    options.image = imageOptions(v);
    options.rangeMargin = finiteNumber('--range-margin', v['range-margin']);
    options.targetSqnr = finiteNumber('--target-sqnr', v['target-sqnr']);
    options.maxFp32Fraction = finiteNumber('--max-fp32-fraction', v['max-fp32-fraction']);
    options.holdOutEvery = positiveInteger('--hold-out-every', v['hold-out-every']);
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
