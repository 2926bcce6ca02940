import type { PlanAttr, PlanValue } from '../plan.js';
import type { RefTensor } from './tensor.js';

/** One reference op: input tensors (undefined for absent optionals), output value descriptions, attributes. */
export type RefOp = (inputs: (RefTensor | undefined)[], outputs: PlanValue[], attrs: Record<string, PlanAttr>) => RefTensor[];

export function num(attrs: Record<string, PlanAttr>, name: string, def: number): number {
  const v = attrs[name];
  return typeof v === 'number' ? v : def;
}

export function nums(attrs: Record<string, PlanAttr>, name: string, def: number[]): number[] {
  const v = attrs[name];
  return Array.isArray(v) ? v : def;
}

export function str(attrs: Record<string, PlanAttr>, name: string, def: string): string {
  const v = attrs[name];
  return typeof v === 'string' ? v : def;
}

export function activation(attrs: Record<string, PlanAttr>): { min: number; max: number } {
  return { min: num(attrs, 'activationMin', -Infinity), max: num(attrs, 'activationMax', Infinity) };
}
