/**
 * Argument validation used across the public API. Every check throws through invalidParameterError so
 * messages have one shape; C++ re-checks sizes but trusts these.
 */
import { invalidParameterError } from './errors.js';

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value);
}

export function expectObject(name: string, value: unknown): asserts value is Record<string, unknown> {
  if (!isPlainObject(value)) throw invalidParameterError(name, 'object', value);
}

export function expectInteger(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number') throw invalidParameterError(name, `integer between ${min} and ${max}`, value);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalidParameterError(name, `integer between ${min} and ${max}`, value, true);
  }
  return value;
}

/** A quantization scale: a positive, finite number that stays positive as float32. */
export function expectScale(name: string, value: unknown): number {
  if (typeof value !== 'number') throw invalidParameterError(name, 'positive finite number', value);
  if (!(value > 0) || !Number.isFinite(value) || Math.fround(value) === 0 || !Number.isFinite(Math.fround(value))) {
    throw invalidParameterError(name, 'positive finite number', value, true);
  }
  return value;
}

export function expectOneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw invalidParameterError(name, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, value, typeof value === 'string');
  }
  return value as T;
}

export function expectTypedArray<T extends ArrayBufferView>(
  name: string,
  value: unknown,
  ctor: { new (...args: never[]): T; name: string },
  length?: number,
  lengthDescription?: string,
): T {
  if (!(value instanceof ctor)) throw invalidParameterError(name, ctor.name, value);
  const len = (value as unknown as ArrayLike<unknown>).length;
  if (length !== undefined && len !== length) {
    throw invalidParameterError(name, `${ctor.name} of length ${lengthDescription ?? length}`, value, true);
  }
  return value;
}

/** Levenshtein distance, for "did you mean" suggestions. */
function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}

/** Rejects option names that are not known: "Unknown option 'perChanel' in options; did you mean 'perChannel'?" */
export function expectKnownKeys(name: string, value: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    let best: string | undefined;
    let bestDistance = Infinity;
    for (const candidate of known) {
      const d = editDistance(key.toLowerCase(), candidate.toLowerCase());
      if (d < bestDistance) {
        bestDistance = d;
        best = candidate;
      }
    }
    const hint = best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? `; did you mean '${best}'?` : '';
    throw new TypeError(`Unknown option '${key}' in ${name}${hint}`);
  }
}
