/**
 * One more pass over the calibration data after calibration, on a copy of the model with extra outputs: what bias
 * correction and GPTQ both need. Samples are checked as calibration checks them, those holding NaN/Infinity are
 * skipped, `maxSamples` is honoured, progress goes to stderr on a TTY, and the executor is released at the end.
 */
import { createProgress, type ProgressOptions } from '../calibration/progress.js';
import { OctetError } from '../errors.js';
import type { Model } from '../ir/model.js';
import { checkSample, type CalibrationData } from './calibrate.js';
import type { CalibrationExecutor, CalibrationSample } from './executor.js';
import type { ActivationQParams, QdqPlan } from './qdq.js';

export interface DataPassOptions {
  maxSamples?: number;
  progress?: false | ProgressOptions;
}

type RunResult = Awaited<ReturnType<CalibrationExecutor['run']>>;

function nonFinite(s: CalibrationSample): boolean {
  for (const t of Object.values(s)) {
    const d = t.data;
    if (d instanceof Float32Array || d instanceof Float64Array) for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i])) return true;
  }
  return false;
}

/**
 * Runs `exec` on every usable sample of `data` asking for `outputs`, and hands each result to `each` with the
 * sample and its index among the usable ones. Returns how many samples were used; throws ERR_OCTET_CALIBRATION
 * naming `what` when there was none (a one-shot iterator read already, or only non-finite samples).
 */
export async function passOverData(
  model: Model,
  data: CalibrationData,
  exec: CalibrationExecutor,
  outputs: readonly string[],
  what: string,
  options: DataPassOptions,
  each: (result: RunResult, sample: CalibrationSample, used: number) => void,
): Promise<number> {
  const total = options.maxSamples ?? (typeof data.length === 'number' ? data.length : 0);
  const progress = options.progress === false ? undefined : createProgress(total, what, options.progress ?? {});
  let index = 0;
  let used = 0;
  try {
    for await (const raw of data as AsyncIterable<CalibrationSample>) {
      if (options.maxSamples !== undefined && index >= options.maxSamples) break;
      const sample = checkSample(model, raw, index++);
      progress?.tick();
      if (nonFinite(sample)) continue;
      each(await exec.run(sample, outputs), sample, used);
      used++;
    }
  } finally {
    progress?.done();
    await exec.release?.();
  }
  if (used === 0) {
    const name = what.charAt(0).toUpperCase() + what.slice(1);
    throw new OctetError('ERR_OCTET_CALIBRATION', `${name} read no usable sample: options.calibration gave nothing on this pass (a one-shot iterator?) or only samples with NaN/Infinity`);
  }
  return used;
}

/** An activation's calibrated parameters, following pass-through ties (a MaxPool's output → its input). */
export function resolveQParams(name: string, plan: Pick<QdqPlan, 'ties'>, qparams: ReadonlyMap<string, ActivationQParams>): ActivationQParams | undefined {
  let n: string | undefined = name;
  for (let hops = 0; n !== undefined && hops < 1000; hops++) {
    const p = qparams.get(n);
    if (p) return p;
    n = plan.ties.get(n);
  }
  return undefined;
}
