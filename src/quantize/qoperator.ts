/**
 * QDQ → QOperator: rewriting DQ → op → Q groups into onnxruntime's integer operators (QLinearConv,
 * QLinearMatMul, com.microsoft QLinearAdd/QLinearMul/QGemm/...) is not implemented yet; the QDQ model is kept.
 */
import type { Model } from '../ir/model.js';

/** Rewrites in place where it can; returns notes. */
export function toQOperator(model: Model): string[] {
  void model;
  return ['QOperator rewriting is not implemented yet: the model is written in QDQ format'];
}
