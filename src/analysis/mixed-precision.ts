/**
 * Automatic mixed precision: which quantized nodes to keep in fp32 so that the int8 model's worst graph output
 * reaches a target SQNR on held-out samples, within a cap on the fp32 share of MACs.
 *
 *   calibrated ranges (once) ──▶ all-int8 model ──▶ worst output SQNR on the held-out samples ("before")
 *   rank: units of quantized nodes (a conv and the elementwise ops after it, see switch.ts groupUnits) by the
 *       output noise they cause: with only that unit in int8, or added to the all-int8 model, the larger (two
 *       switch-model runs per unit and sample, on a few calibration samples: ranking on other samples than
 *       those that verify keeps the choice honest); the most damaging first, skipping a unit whose MACs would
 *       take the fp32 share over the cap
 *   search: prefixes of that order, 1, 2, 4, 8, … units: re-emit the QDQ model from the cached ranges
 *       (planQdq/applyQdq with those nodes excluded), run it on the held-out samples; stop at the first prefix
 *       that meets the target, then bisect between it and the last one that did not
 *   prune: give back to int8 each unit of that prefix (the most MACs first) whose fp32 the target does not need
 *       on the switch model; keep the smaller set when the emitted model verifies
 *   result: the smallest set found that meets the target; else the best prefix measured
 *
 * Ranking by output impact, not by a node's own (isolated) SQNR: a layer with a poor local SQNR may barely
 * move the output (a squeeze-excitation gate), and one with a good local SQNR may feed a layer that amplifies
 * its error. Every step is measured on the emitted model on octet's runtime (its int8 kernels), whatever
 * executor calibrated.
 */
import { createProgress, type ProgressOptions } from '../calibration/progress.js';
import type { Model } from '../ir/model.js';
import { inferShapes } from '../ir/shape-inference.js';
import { loadModel, serializeModel } from '../onnx/io.js';
import { runPass } from '../passes/manager.js';
import { tagActivations } from '../passes/tag-activations.js';
import type { Pass } from '../passes/pass.js';
import type { CalibrationExecutor, CalibrationSample } from '../quantize/executor.js';
import { applyQdq, planQdq, type ActivationQParams, type QdqOptions } from '../quantize/qdq.js';
import { createOctetExecutor } from '../runtime/calibration-executor.js';
import { bySqnr, macsOf } from './sensitivity.js';
import { buildSwitchModel, type SwitchModel } from './switch.js';
import { ErrorAccumulator } from './stats.js';
import type { MixedPrecisionSummary } from './types.js';

export interface MixedPrecisionSearch {
  /** The canonical fp32 model (not modified). */
  model: Model;
  /** The QDQ options of the plain quantization (the user's exclusions included). */
  qdqOptions: QdqOptions;
  /** Activation qparams from the one calibration. */
  qparams: ReadonlyMap<string, ActivationQParams>;
  /** Samples kept out of calibration, to verify on. */
  heldOut: readonly CalibrationSample[];
  /** Samples to rank the nodes on (a few calibration samples; default: the held-out ones). */
  rankingSamples?: readonly CalibrationSample[];
  targetSqnr?: number;
  maxFp32Fraction?: number;
  progress?: false | ProgressOptions;
}

export interface MixedPrecisionResult {
  /** Nodes to keep in fp32 (beyond the user's exclusions). */
  fp32Nodes: string[];
  summary: MixedPrecisionSummary;
}

/** Builds the QDQ model of `model` with `exclude` (besides the options' own) left in fp32, from cached qparams. */
export function emitQdq(canonicalBytes: Uint8Array, options: QdqOptions, qparams: ReadonlyMap<string, ActivationQParams>, exclude: readonly string[]): Model {
  const m = loadModel(canonicalBytes);
  // Fusion tags are not saved: put them back, as canonicalize() did.
  runPass(tagActivations as Pass<unknown>, m);
  const opts: QdqOptions = { ...options, exclude: new Set([...options.exclude, ...exclude]) };
  const plan = planQdq(m, opts);
  applyQdq(m, plan, new Map(qparams), opts);
  inferShapes(m, { strict: false });
  return m;
}

/** The lowest SQNR of the accumulated outputs (NaN counts as worst of all). */
function worstOf(acc: Map<string, ErrorAccumulator>): number {
  let worst = Infinity;
  for (const a of acc.values()) {
    const v = a.stats().sqnr;
    if (Number.isNaN(v)) return v;
    if (v < worst) worst = v;
  }
  return worst;
}

/** Worst graph-output SQNR of `bytes` on the held-out samples against the fp32 outputs. */
async function worstOutputSqnr(bytes: Uint8Array, heldOut: readonly CalibrationSample[], refs: Record<string, Float32Array>[], outputs: readonly string[]): Promise<number> {
  const exec = await createOctetExecutor(bytes);
  try {
    const acc = new Map(outputs.map((o) => [o, new ErrorAccumulator()]));
    for (let i = 0; i < heldOut.length; i++) {
      const got = await exec.run(heldOut[i], outputs);
      for (const o of outputs) acc.get(o)!.add(refs[i][o], got[o].data, `Output '${o}'`);
    }
    return worstOf(acc);
  } finally {
    await exec.release?.();
  }
}

/** Runs the switch model (see switch.ts) with chosen units in fp32 and the rest in int8. */
class SwitchRunner {
  private constructor(
    readonly model: SwitchModel,
    private readonly exec: CalibrationExecutor,
    private readonly outputs: readonly string[],
  ) {}

  static async create(fp32: Model, int8: Model, outputs: readonly string[]): Promise<SwitchRunner> {
    const sw = buildSwitchModel(fp32, int8);
    return new SwitchRunner(sw, await createOctetExecutor(serializeModel(sw.model)), outputs);
  }

  /** Worst output SQNR over `samples` with the units `int8` in int8 and the others in fp32. */
  async worst(int8: (unit: number) => boolean, samples: readonly CalibrationSample[], refs: Record<string, Float32Array>[]): Promise<number> {
    const acc = new Map(this.outputs.map((o) => [o, new ErrorAccumulator()]));
    const switches: CalibrationSample = {};
    this.model.inputs.forEach((name, u) => (switches[name] = { data: Float32Array.of(int8(u) ? 1 : 0), dims: [] }));
    for (let i = 0; i < samples.length; i++) {
      const got = await this.exec.run({ ...samples[i], ...switches }, this.outputs);
      for (const o of this.outputs) acc.get(o)!.add(refs[i][o], got[o].data, `Output '${o}'`);
    }
    return worstOf(acc);
  }

  release(): Promise<void> | void {
    return this.exec.release?.();
  }
}

/** The fp32 model's outputs on each sample. */
async function fp32Outputs(bytes: Uint8Array, samples: readonly CalibrationSample[], outputs: readonly string[]): Promise<Record<string, Float32Array>[]> {
  const fp = await createOctetExecutor(bytes);
  try {
    const refs: Record<string, Float32Array>[] = [];
    for (const sample of samples) {
      const out = await fp.run(sample, outputs);
      refs.push(Object.fromEntries(outputs.map((o) => [o, Float32Array.from(out[o].data)])));
    }
    return refs;
  } finally {
    await fp.release?.();
  }
}

/** Searches the nodes to keep in fp32 (see the file comment). */
export async function searchMixedPrecision(s: MixedPrecisionSearch): Promise<MixedPrecisionResult> {
  const bytes = serializeModel(s.model);
  const outputs = s.model.graph.outputs.map((v) => v.name);
  const target = s.targetSqnr ?? Infinity;
  const cap = s.maxFp32Fraction ?? 1;

  const refs = await fp32Outputs(bytes, s.heldOut, outputs);
  const evaluate = (exclude: readonly string[]): Promise<number> => worstOutputSqnr(serializeModel(emitQdq(bytes, s.qdqOptions, s.qparams, exclude)), s.heldOut, refs, outputs);

  const steps: MixedPrecisionSummary['steps'] = [];
  const before = await evaluate([]);
  steps.push({ fp32Nodes: [], sqnr: before });
  const summary = (fp32Nodes: string[], after: number, fraction: number): MixedPrecisionResult => ({
    fp32Nodes,
    summary: {
      ...(s.targetSqnr !== undefined ? { targetSqnr: s.targetSqnr } : {}),
      ...(s.maxFp32Fraction !== undefined ? { maxFp32Fraction: s.maxFp32Fraction } : {}),
      met: after >= target,
      fp32Nodes,
      fp32MacFraction: fraction,
      before,
      after,
      steps,
    },
  });
  if (before >= target) return summary([], before, 0);

  // Rank units of quantized nodes by the output noise they cause, on the switch model.
  const sw = await SwitchRunner.create(s.model, emitQdq(bytes, s.qdqOptions, s.qparams, []), outputs);
  try {
    const { nodes, units } = sw.model;
    const ranking = s.rankingSamples && s.rankingSamples.length > 0 ? s.rankingSamples : s.heldOut;
    const rankingRefs = await fp32Outputs(bytes, ranking, outputs);
    // A unit's damage: the output noise with only it in int8, or the noise it adds to the all-int8 model,
    // whichever is larger (a squeeze-excitation gate saturated in fp32 shows only in the second).
    const noise = (sqnr: number): number => (Number.isNaN(sqnr) ? Infinity : 10 ** (-sqnr / 10));
    const all = noise(await sw.worst(() => true, ranking, rankingRefs));
    const damage: number[] = [];
    const bar = s.progress === false ? undefined : createProgress(units.length, 'ranking', s.progress ?? {});
    try {
      for (let u = 0; u < units.length; u++) {
        const only = noise(await sw.worst((j) => j === u, ranking, rankingRefs));
        const without = noise(await sw.worst((j) => j !== u, ranking, rankingRefs));
        damage.push(Math.max(only, all - without));
        bar?.tick();
      }
    } finally {
      bar?.done();
    }
    const macs = macsOf(s.model, nodes, s.heldOut[0]);
    const share = (u: number): number => (macs.total > 0 ? units[u].reduce((sum, k) => sum + (macs.byNode.get(nodes[k].id) ?? 0), 0) / macs.total : 0);
    const namesOf = (us: readonly number[]): string[] => us.flatMap((u) => units[u].map((k) => nodes[k].node.name).filter((n) => n !== ''));
    const fractionOf = (us: readonly number[]): number => us.reduce((sum, u) => sum + share(u), 0);
    // The most damaging first; a unit that would take the fp32 share over the cap is skipped.
    const order: number[] = [];
    let used = 0;
    for (const u of units.map((_, u) => u).sort((a, b) => damage[b] - damage[a] || share(a) - share(b))) {
      if (namesOf([u]).length === 0 || used + share(u) > cap + 1e-12) continue;
      used += share(u);
      order.push(u);
    }

    const progress = s.progress === false ? undefined : createProgress(2 * Math.ceil(Math.log2(order.length + 1)) + 2, 'mixed precision', s.progress ?? {});
    const measured = new Map<number, number>([[0, before]]);
    const at = async (k: number): Promise<number> => {
      let v = measured.get(k);
      if (v === undefined) {
        v = await evaluate(namesOf(order.slice(0, k)));
        measured.set(k, v);
        steps.push({ fp32Nodes: namesOf(order.slice(0, k)), sqnr: v });
        progress?.tick();
      }
      return v;
    };
    try {
      let lo = 0;
      let hi = -1;
      for (let k = 1; order.length > 0; k = Math.min(2 * k, order.length)) {
        if ((await at(k)) >= target) {
          hi = k;
          break;
        }
        lo = k;
        if (k === order.length) break;
      }
      if (hi > 0) {
        while (hi - lo > 1) {
          const mid = (lo + hi) >> 1;
          if ((await at(mid)) >= target) hi = mid;
          else lo = mid;
        }
        // Backward elimination on the switch model and the ranking samples (not the held-out ones, which only
        // verify): give a unit back to int8 (the most MACs first) when the SQNR stays at the target, or at what
        // the whole prefix gives there if that is lower. The smaller set is kept only if the emitted model verifies.
        const chosen = order.slice(0, hi);
        const without = (fp32: readonly number[]): Promise<number> => {
          const set = new Set(fp32);
          return sw.worst((j) => !set.has(j), ranking, rankingRefs);
        };
        const floor = Math.min(target, await without(chosen));
        let kept = [...chosen];
        for (const u of [...chosen].sort((a, b) => share(b) - share(a))) {
          const trial = kept.filter((x) => x !== u);
          if ((await without(trial)) >= floor) kept = trial;
        }
        if (kept.length > 0 && kept.length < chosen.length) {
          const v = await evaluate(namesOf(kept));
          steps.push({ fp32Nodes: namesOf(kept), sqnr: v });
          if (v >= target) return summary(namesOf(kept), v, fractionOf(kept));
        }
        return summary(namesOf(chosen), measured.get(hi)!, fractionOf(chosen));
      }
      // Not met within the cap (or no target): the best prefix measured, the shorter one on a tie.
      let best = 0;
      for (const [k, v] of measured) if (v > measured.get(best)! || (v === measured.get(best)! && k < best)) best = k;
      return summary(namesOf(order.slice(0, best)), measured.get(best)!, fractionOf(order.slice(0, best)));
    } finally {
      progress?.done();
    }
  } finally {
    await sw.release();
  }
}
