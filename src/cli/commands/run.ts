/**
 * octet run MODEL.onnx --input NAME=FILE.npy|FILE.pb ... [--output-dir DIR] [--threads N] [--backend B] [--json]
 * Runs a model (fp32 or int8) on octet's runtime with inputs from .npy files or ONNX TensorProto .pb files and
 * writes each output as NAME.npy.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { decodeTensor } from '../../onnx/tensor-proto.js';
import { decodeTensorProto } from '../../onnx/proto.js';
import { readNpy, writeNpy, type NpyArray } from '../../quantize/data.js';
import { InferenceSession } from '../../runtime/inference-session-impl.js';
import { Tensor, type TensorType } from '../../runtime/tensor.js';
import { UsageError, type CliIO, type Command, type CommandArgs } from '../command.js';

function readInput(file: string, want: string): Tensor {
  let data: ArrayLike<number | bigint>;
  let dims: number[];
  if (file.endsWith('.pb')) {
    const t = decodeTensor(decodeTensorProto(new Uint8Array(readFileSync(file))));
    dims = [...t.dims];
    data = t.dtype === 7 ? t.asInt64() : t.toNumbers();
  } else if (file.endsWith('.npy')) {
    const npy = readNpy(file);
    dims = npy.dims;
    data = npy.data as ArrayLike<number | bigint>;
  } else {
    throw new UsageError(`--input: '${file}' is neither a .npy nor a .pb file`);
  }
  const type = want as TensorType;
  const values = Array.from(data, (v) => (type === 'int64' ? BigInt(v) : Number(v)));
  return new Tensor(type, values as number[], dims);
}

/** A file name for an output: ONNX names may hold '/' or ':'. */
function fileNameFor(name: string): string {
  return `${name.replace(/[^A-Za-z0-9._-]/g, '_')}.npy`;
}

export const runCommand: Command = {
  name: 'run',
  summary: 'Run a model on octet and write its outputs as .npy files',
  usage: 'octet run MODEL.onnx --input NAME=FILE.npy|FILE.pb ... [--output-dir DIR] [--threads N] [--backend auto|xnnpack|onednn] [--json]',
  help: [
    'Options:',
    '  --input NAME=FILE   an input tensor from a .npy file or an ONNX TensorProto .pb file (repeat per input)',
    '  --output-dir DIR    where to write NAME.npy for each output (default: the current folder)',
    '  --threads N         kernel threads (default 1)',
    '  --backend B         Conv/Gemm/MatMul library (int8 and float32): auto (default), xnnpack or onednn',
    '  --json              print the outputs summary as JSON',
    '',
    'Examples:',
    '  octet run model.int8.onnx --input x=image.npy --output-dir out/',
    '  octet run model.onnx --input x=image.npy --threads 2 --json',
  ],
  options: {
    input: { type: 'string', multiple: true },
    'output-dir': { type: 'string' },
    threads: { type: 'string' },
    backend: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(args: CommandArgs, io: CliIO): Promise<number> {
    if (args.positionals.length !== 1) throw new UsageError(`expected one MODEL.onnx, got ${args.positionals.length}: ${runCommand.usage}`);
    const threads = args.values.threads === undefined ? 1 : Number(args.values.threads);
    if (!Number.isInteger(threads) || threads < 1) throw new UsageError(`--threads: expected a positive integer, got '${String(args.values.threads)}'`);
    const backend = (args.values.backend ?? 'auto') as string;
    if (!['auto', 'xnnpack', 'onednn'].includes(backend)) throw new UsageError(`--backend: expected auto, xnnpack or onednn, got '${backend}'`);
    const session = await InferenceSession.create(args.positionals[0], { threads, backend: backend as 'auto' });
    try {
      const feeds: Record<string, Tensor> = {};
      for (const item of (args.values.input ?? []) as string[]) {
        const i = item.indexOf('=');
        if (i <= 0 || i === item.length - 1) throw new UsageError(`--input expects NAME=FILE, got '${item}'`);
        const name = item.slice(0, i);
        const meta = session.inputMetadata.find((m) => m.name === name);
        if (!meta) throw new UsageError(`--input: the model has no input '${name}'; its inputs are ${session.inputNames.join(', ')}`);
        feeds[name] = readInput(item.slice(i + 1), meta.type);
      }
      const missing = session.inputNames.filter((n) => !(n in feeds));
      if (missing.length > 0) throw new UsageError(`missing --input for ${missing.join(', ')}`);
      const t0 = performance.now();
      const outputs = await session.run(feeds);
      const ms = performance.now() - t0;
      const dir = (args.values['output-dir'] as string | undefined) ?? '.';
      mkdirSync(dir, { recursive: true });
      const summary = session.outputNames.map((name) => {
        const t = outputs[name];
        const file = join(dir, fileNameFor(name));
        // Write beside, then rename: no half-written file if the process dies.
        writeFileSync(`${file}.tmp`, writeNpy(t.data as NpyArray, t.dims));
        renameSync(`${file}.tmp`, file);
        let min = Infinity;
        let max = -Infinity;
        if (t.type !== 'int64') for (const v of t.data as Iterable<number>) (min = Math.min(min, v)), (max = Math.max(max, v));
        return { name, type: t.type, dims: [...t.dims], file, ...(t.type !== 'int64' ? { min, max } : {}) };
      });
      if (args.values.json) {
        io.out(JSON.stringify({ ms, outputs: summary }, null, 2));
      } else {
        for (const s of summary) io.out(`${s.name}: ${s.type}[${s.dims.join(', ')}]${s.min !== undefined ? ` min ${s.min.toPrecision(4)} max ${s.max!.toPrecision(4)}` : ''} -> ${s.file}`);
        io.out(`ran in ${ms.toFixed(1)} ms`);
      }
      return 0;
    } finally {
      await session.release();
    }
  },
};
