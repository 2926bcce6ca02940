/**
 * octet analyze FP32.onnx INT8.onnx --calibration DIR [--max-samples N] [--shape NAME=D,..] [--mean M] [--std S]
 *   [--top N] [--json] [--report report.html]
 * Per-layer sensitivity of an int8 model against its fp32 model on octet's runtime: a table of the quantized
 * nodes, worst isolated SQNR first, and the SQNR of every graph output.
 */
import type { SensitivityReport } from '../../analysis/types.js';
import { analyzeSensitivity, type AnalyzeOptions } from '../../analysis/sensitivity.js';
import { UsageError, type CliIO, type Command, type CommandArgs } from '../command.js';
import { DATA_HELP, DATA_OPTIONS, imageOptions, inputShapes, positiveInteger } from '../data-options.js';
import { writeReport } from '../../analysis/report.js';

function db(x: number): string {
  return Number.isFinite(x) ? `${x.toFixed(1)} dB` : x > 0 ? 'inf' : String(x);
}

function count(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return String(n);
}

function short(e: number): string {
  return e === 0 ? '0' : Math.abs(e) >= 0.01 && Math.abs(e) < 1e4 ? e.toPrecision(3) : e.toExponential(2);
}

function table(rows: string[][], io: CliIO): void {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows) io.out(r.map((cell, c) => (c === 0 || c === 1 || c === 2 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ').trimEnd());
}

/** The ranked table and the outputs, as `octet analyze` prints them. */
export function printReport(report: SensitivityReport, top: number, io: CliIO): void {
  const r = report;
  io.out(`${r.models.fp32} vs ${r.models.int8}: ${r.layers.length} quantized nodes, ${r.samples} samples, ${count(r.totalMacs)} MACs per sample (${r.seconds.toFixed(1)} s)`);
  io.out('');
  const rows = [['rank', 'node', 'op', 'MACs', 'isolated', 'accumulated', 'MSE (isolated)', 'max |err|']];
  r.layers.slice(0, top).forEach((l, i) => {
    rows.push([String(i + 1), l.node, l.opType, count(l.macs), db(l.isolated.sqnr), db(l.accumulated.sqnr), short(l.isolated.mse), short(l.isolated.maxAbsError)]);
  });
  table(rows, io);
  if (r.layers.length > top) io.out(`... ${r.layers.length - top} more (--top N)`);
  io.out('');
  io.out('outputs');
  const outs = [['', 'output', 'SQNR', 'MSE', 'max |err|']];
  for (const o of r.outputs) outs.push(['', o.name, db(o.sqnr), short(o.mse), short(o.maxAbsError)]);
  table(outs, io);
}

/** JSON with ±Infinity spelled as strings (JSON has no infinities). */
function toJson(report: SensitivityReport): string {
  return JSON.stringify(report, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) && !Number.isNaN(v) ? (v > 0 ? 'Infinity' : '-Infinity') : v), 2);
}


export const analyzeCommand: Command = {
  name: 'analyze',
  summary: 'Per-layer sensitivity of an int8 model against its fp32 model (SQNR, MSE, ranked)',
  usage: 'octet analyze FP32.onnx INT8.onnx --calibration DIR [--max-samples N] [--shape NAME=D,D,...] [--mean M] [--std S] [--top N] [--json] [--report report.html]',
  help: [
    'Options:',
    '  --calibration DIR           evaluation samples: .npy files (or subfolders of <input>.npy) or .jpg/.png images',
    ...DATA_HELP,
    '  --top N                     rows of the ranked table (default 15)',
    '  --json                      print the full report as JSON (Infinity as the string "Infinity")',
    '  --report FILE.html          write the HTML report',
    'Every quantized node of INT8 is compared with FP32 at its output: "isolated" with only that node quantized,',
    '"accumulated" with the whole int8 model up to it. Runs on octet\'s runtime.',
    '',
    'Examples:',
    '  octet analyze model.onnx model.int8.onnx --calibration photos/ --shape x=1,3,48,192 --mean 0.5 --std 0.5 --top 10',
    '  octet analyze model.onnx model.int8.onnx --calibration photos/ --shape x=1,3,48,192 --mean 0.5 --std 0.5 --max-samples 3 --json --report report.html',
  ],
  options: {
    ...DATA_OPTIONS,
    top: { type: 'string' },
    json: { type: 'boolean' },
    report: { type: 'string' },
  },
  async run(args: CommandArgs, io: CliIO): Promise<number> {
    const v = args.values;
    if (args.positionals.length !== 2) throw new UsageError(`expected two models, FP32.onnx and INT8.onnx; got ${args.positionals.length}`);
    if (typeof v.calibration !== 'string' || v.calibration === '') throw new UsageError('missing --calibration DIR (the samples to evaluate on)');
    if (v.report !== undefined && (typeof v.report !== 'string' || v.report === '')) throw new UsageError('--report expects a file name');
    const top = positiveInteger('--top', v.top) ?? 15;
    const options: AnalyzeOptions = { samples: v.calibration };
    const maxSamples = positiveInteger('--max-samples', v['max-samples']);
    if (maxSamples !== undefined) options.maxSamples = maxSamples;
    const shapes = inputShapes(v);
    if (shapes) options.inputShapes = shapes;
    const image = imageOptions(v);
    if (image) options.image = image;
    options.onWarning = (m) => io.err(`warning: ${m}`);
    const report = await analyzeSensitivity(args.positionals[0], args.positionals[1], options);
    if (typeof v.report === 'string') {
      writeReport(report, v.report);
      io.err(`report: ${v.report}`);
    }
    if (v.json) io.out(toJson(report));
    else printReport(report, top, io);
    return 0;
  },
};
