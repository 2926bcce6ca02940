/**
 * Options shared by the commands that read sample data (quantize, analyze): --calibration DIR, --max-samples N,
 * --shape NAME=D,D,…, --mean / --std for image folders. One parser, one set of messages.
 */
import type { ParseArgsConfig } from 'node:util';

import type { ImageSourceOptions } from '../quantize/data.js';
import { UsageError, type CommandArgs } from './command.js';

export const DATA_OPTIONS: NonNullable<ParseArgsConfig['options']> = {
  calibration: { type: 'string' },
  'max-samples': { type: 'string' },
  shape: { type: 'string', multiple: true },
  mean: { type: 'string' },
  std: { type: 'string' },
};

export const DATA_HELP: readonly string[] = [
  '  --max-samples N             use at most N samples',
  "  --shape NAME=D,D,...        fix an input's shape (images are resized to its height and width); a name (N) keeps a dim free",
  '  --mean M[,M,M] --std S[,S,S] image normalisation after scaling pixels to [0, 1] (default 0 and 1)',
];

/** A positive integer flag value, or undefined when the flag is absent. */
export function positiveInteger(flag: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer, got '${String(v)}'`);
  return n;
}

/** A finite number flag value, or undefined when the flag is absent. */
export function finiteNumber(flag: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v === '' || !Number.isFinite(n)) throw new UsageError(`${flag} must be a number, got '${String(v)}'`);
  return n;
}

/**
 * --shape NAME=D,D,... (repeatable) as inputShapes, or undefined. A dim written as a name (N, batch) or ? stays free
 * in the quantized model (? keeps the model's own name for it): `x=N,3,48,192` fixes the image size and keeps the batch size open.
 */
export function inputShapes(values: CommandArgs['values']): Record<string, (number | string | null)[]> | undefined {
  const shapes = (Array.isArray(values.shape) ? values.shape : []) as string[];
  if (shapes.length === 0) return undefined;
  const out: Record<string, (number | string | null)[]> = {};
  for (const item of shapes) {
    const i = item.lastIndexOf('=');
    const dims = item.slice(i + 1).split(',').map((d) => (/^[0-9]+$/.test(d) ? Number(d) : d));
    const bad = (d: number | string): boolean => (typeof d === 'number' ? d < 1 : !/^([A-Za-z_][A-Za-z0-9_.]*|\?)$/.test(d));
    if (i <= 0 || dims.some(bad)) throw new UsageError(`--shape expects NAME=D,D,... (each D a positive integer, or a name such as N for a free dim), got '${item}'`);
    out[item.slice(0, i)] = dims.map((d) => (d === '?' ? null : d));
  }
  return out;
}

/** --mean / --std as image source options, or undefined when neither is given. */
export function imageOptions(values: CommandArgs['values']): ImageSourceOptions | undefined {
  const numbers = (flag: string, text: unknown): number | number[] | undefined => {
    if (text === undefined) return undefined;
    const list = String(text).split(',').map(Number);
    if (list.some((x) => !Number.isFinite(x))) throw new UsageError(`${flag} expects a number or a comma-separated list, got '${String(text)}'`);
    return list.length === 1 ? list[0] : list;
  };
  const mean = numbers('--mean', values.mean);
  const std = numbers('--std', values.std);
  if (mean === undefined && std === undefined) return undefined;
  return { ...(mean !== undefined ? { mean } : {}), ...(std !== undefined ? { std } : {}) };
}
