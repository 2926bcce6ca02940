/**
 * octet inspect MODEL.onnx [--json] [--shape NAME=D,D,..] [--freeze NAME=V] [--verbose]
 * Inputs/outputs with shapes, opsets, operator histogram, parameter count and bytes, and what each
 * canonicalising pass would change (run on a copy; the file is not modified).
 */
import { statSync } from 'node:fs';
import { basename } from 'node:path';

import { summarizeModel, type ModelSummary } from '../../ir/summary.js';
import { formatShape } from '../../ir/value.js';
import { loadModel } from '../../onnx/io.js';
import { canonicalize } from '../../passes/manager.js';
import type { PassReport } from '../../passes/pass.js';
import { UsageError, type CliIO, type Command, type CommandArgs } from '../command.js';

function parsePairs(list: unknown, flag: string): [string, string][] {
  const items = (Array.isArray(list) ? list : list === undefined ? [] : [list]) as string[];
  return items.map((item) => {
    const i = item.lastIndexOf('=');
    if (i <= 0 || i === item.length - 1) throw new UsageError(`${flag} expects NAME=VALUE, got '${item}'`);
    return [item.slice(0, i), item.slice(i + 1)];
  });
}

function parseShape(text: string, flag: string): (number | string)[] {
  return text.split(/[,x]/).map((d) => {
    if (/^\d+$/.test(d)) return Number(d);
    if (/^[A-Za-z_][\w.]*$/.test(d)) return d;
    throw new UsageError(`${flag}: '${d}' is neither a dimension nor a symbol`);
  });
}

function humanBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 ** 2).toFixed(1)} MiB`;
}

function humanCount(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : String(n);
}

export interface InspectReport extends ModelSummary {
  file: string;
  fileBytes: number;
  /** What canonicalize() would change, per pass; error set if it would fail. */
  passes: PassReport[];
  passError?: string;
}

export function inspectFile(path: string, options: { shapes?: Record<string, (number | string)[]>; freeze?: Record<string, number> } = {}): InspectReport {
  const model = loadModel(path);
  const summary = summarizeModel(model);
  const report: InspectReport = { file: path, fileBytes: statSync(path).size, ...summary, passes: [] };
  const copy = loadModel(path);
  try {
    report.passes = canonicalize(copy, { inputShapes: options.shapes, freezeInputs: options.freeze });
  } catch (err) {
    // Bad --shape/--freeze names are the user's to fix; anything else is what canonicalize would hit.
    if (err instanceof TypeError || err instanceof RangeError) throw err;
    report.passError = (err as Error).message;
  }
  return report;
}

function print(report: InspectReport, io: CliIO, verbose: boolean): void {
  const bold = (s: string): string => (io.color ? `\x1b[1m${s}\x1b[0m` : s);
  const dim = (s: string): string => (io.color ? `\x1b[2m${s}\x1b[0m` : s);
  io.out(`${bold(basename(report.file))}  ${humanBytes(report.fileBytes)}, IR ${report.irVersion}${report.producer ? `, from ${report.producer}` : ''}`);
  io.out(`opsets     ${report.opsets.map((o) => `${o.domain} ${o.version}`).join(', ')}`);
  const width = Math.max(...[...report.inputs, ...report.outputs].map((v) => v.name.length), 4);
  io.out(bold('inputs'));
  for (const v of report.inputs) io.out(`  ${v.name.padEnd(width)}  ${v.dtype.padEnd(8)} ${formatShape(v.shape)}`);
  io.out(bold('outputs'));
  for (const v of report.outputs) io.out(`  ${v.name.padEnd(width)}  ${v.dtype.padEnd(8)} ${formatShape(v.shape)}`);
  io.out(`${bold('operators')}  ${report.nodes} nodes${report.subgraphs ? ` (${report.subgraphs} subgraphs)` : ''}${report.functions ? `, ${report.functions} functions` : ''}`);
  const ops = report.operators.map((o) => `${o.op} ${o.count}`);
  for (let i = 0; i < ops.length; i += 6) io.out(`  ${ops.slice(i, i + 6).join(', ')}`);
  io.out(`${bold('parameters')} ${humanCount(report.parameters.count)} in ${report.parameters.tensors} tensors, ${humanBytes(report.parameters.bytes)}`);
  io.out(bold('canonicalize would'));
  if (report.passError) io.out(`  fail: ${report.passError}`);
  for (const p of report.passes) {
    const n = p.changes.length;
    io.out(`  ${p.name.padEnd(24)} ${n === 0 ? dim('no change') : `${n} change${n === 1 ? '' : 's'}`}`);
    const shown = verbose ? p.changes : p.changes.slice(0, 3);
    for (const c of shown) io.out(`    ${dim(c)}`);
    if (shown.length < n) io.out(`    ${dim(`... ${n - shown.length} more (--verbose)`)}`);
  }
}

export const inspect: Command = {
  name: 'inspect',
  summary: 'Show a model: inputs/outputs, opsets, operators, parameters, and what canonicalisation would change',
  usage: 'octet inspect MODEL.onnx [--json] [--shape NAME=D,D,...] [--freeze NAME=VALUE] [--verbose]',
  help: [
    'Options:',
    '  --json                 print the report as JSON',
    '  --shape NAME=1,3,H,W   input shape for shape inference (repeatable)',
    '  --freeze NAME=VALUE    treat an input as a constant, e.g. --freeze sr=16000 (repeatable)',
    '  --verbose              list every change of every pass',
    '',
    'Examples:',
    '  octet inspect model.onnx',
    '  octet inspect ppocr_rec.onnx --shape x=1,3,48,320 --verbose',
    '  octet inspect silero_vad_op18_ifless.onnx --freeze sr=16000 --json',
  ],
  options: {
    json: { type: 'boolean' },
    shape: { type: 'string', multiple: true },
    freeze: { type: 'string', multiple: true },
    verbose: { type: 'boolean' },
  },
  run(args: CommandArgs, io: CliIO): number {
    if (args.positionals.length !== 1) throw new UsageError(`expected one MODEL.onnx, got ${args.positionals.length}: ${inspect.usage}`);
    const shapes = Object.fromEntries(parsePairs(args.values.shape, '--shape').map(([k, v]) => [k, parseShape(v, '--shape')]));
    const freeze = Object.fromEntries(
      parsePairs(args.values.freeze, '--freeze').map(([k, v]) => {
        const n = Number(v);
        if (!Number.isFinite(n)) throw new UsageError(`--freeze ${k}: '${v}' is not a number`);
        return [k, n];
      }),
    );
    const report = inspectFile(args.positionals[0], { shapes, freeze });
    if (args.values.json) io.out(JSON.stringify(report, null, 2));
    else print(report, io, args.values.verbose === true);
    return 0;
  },
};
