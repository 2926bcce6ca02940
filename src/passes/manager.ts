/**
 * The pass manager: runs the canonicalising passes in a fixed order over every graph (subgraphs included),
 * each to a fixed point, and repeats the sequence while anything changes (bounded). Returns what each pass
 * changed, one line per rewrite.
 */
import { invalidParameterError } from '../errors.js';
import type { Model } from '../ir/model.js';
import { inferShapes } from '../ir/shape-inference.js';
import { assertValid } from '../ir/verify.js';
import { expectKnownKeys, isPlainObject } from '../validate.js';
import { constantToInitializer } from './constant-to-initializer.js';
import { eliminateDeadNodes } from './eliminate-dead-nodes.js';
import { eliminateIdentity } from './eliminate-identity.js';
import { foldConstants } from './fold-constants.js';
import { freezeInputs } from './freeze-inputs.js';
import { fuseAffineIntoConv } from './fuse-affine-into-conv.js';
import { fuseBnIntoConv } from './fuse-bn-into-conv.js';
import { inlineConstantIf } from './inline-constant-if.js';
import { allGraphs, type CanonicalizeOptions, type Pass, type PassContext, type PassName, type PassReport } from './pass.js';
import { tagActivations } from './tag-activations.js';
import { upgradeOpset } from './upgrade-opset.js';

/** The standard order. */
export const PASSES: readonly Pass<never>[] = [
  upgradeOpset,
  freezeInputs,
  constantToInitializer,
  eliminateIdentity,
  inlineConstantIf,
  foldConstants,
  fuseBnIntoConv,
  fuseAffineIntoConv,
  eliminateDeadNodes,
  tagActivations,
] as unknown as Pass<never>[];

export const PASS_NAMES: readonly PassName[] = PASSES.map((p) => p.name);

const OPTION_KEYS = ['passes', 'skip', 'targetOpset', 'freezeInputs', 'inputShapes'] as const;
/** Upper bound on rewrites of one pass in one graph per round (a pass that never converges is a bug). */
const MAX_REWRITES = 100_000;

/** Runs one pass over every graph to a fixed point. */
export function runPass(pass: Pass<unknown>, model: Model, options: CanonicalizeOptions = {}): string[] {
  const changes: string[] = [];
  let total = 0;
  for (let round = 0; round < 8; round++) {
    let changed = 0;
    for (const graph of allGraphs(model)) {
      const ctx: PassContext = { model, opset: model.opsetVersion('') ?? 13, options };
      for (const m of pass.match(graph, ctx)) {
        const line = pass.rewrite(m, graph, ctx);
        if (line !== undefined) {
          changes.push(line);
          changed++;
          if (++total > MAX_REWRITES) throw new Error(`Pass ${pass.name} did not converge`);
        }
      }
    }
    if (changed === 0 || pass.once) break;
  }
  const ctx: PassContext = { model, opset: model.opsetVersion('') ?? 13, options };
  const last = pass.finish?.(ctx, total);
  if (last !== undefined) changes.push(last);
  return changes;
}

function validate(options: unknown): CanonicalizeOptions {
  if (!isPlainObject(options)) throw invalidParameterError('options', 'object', options);
  expectKnownKeys('options', options, OPTION_KEYS);
  for (const key of ['passes', 'skip'] as const) {
    const list = options[key];
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw invalidParameterError(`options.${key}`, 'array of pass names', list);
    list.forEach((name, i) => {
      if (!PASS_NAMES.includes(name as PassName)) {
        throw invalidParameterError(`options.${key}[${i}]`, `one of ${PASS_NAMES.map((n) => `'${n}'`).join(', ')}`, name, typeof name === 'string');
      }
    });
  }
  if (options.targetOpset !== undefined && options.targetOpset !== 13) {
    throw invalidParameterError('options.targetOpset', '13', options.targetOpset, typeof options.targetOpset === 'number');
  }
  return options as CanonicalizeOptions;
}

/**
 * Rewrites `model` in place into the canonical form later stages expect: opset >= 13, weights as
 * initializers, shape subgraphs folded, BatchNormalization folded, no Identity/Dropout, constant Ifs inlined,
 * activations tagged, shapes inferred. The outputs stay numerically the same.
 */
export function canonicalize(model: Model, options: CanonicalizeOptions = {}): PassReport[] {
  const opts = validate(options);
  const enabled = PASSES.filter((p) => (opts.passes ? opts.passes.includes(p.name) : true) && !(opts.skip ?? []).includes(p.name));
  const reports = new Map<PassName, string[]>(enabled.map((p) => [p.name, []]));
  const infer = (): void => {
    inferShapes(model, { inputShapes: opts.inputShapes, strict: false });
  };
  infer();
  for (let round = 0; round < 4; round++) {
    let changed = 0;
    for (const pass of enabled) {
      if (pass.name === 'tag-activations') continue;
      if (round > 0 && (pass.name === 'upgrade-opset' || pass.name === 'freeze-inputs')) continue;
      const lines = runPass(pass as Pass<unknown>, model, opts);
      reports.get(pass.name)!.push(...lines);
      changed += lines.length;
      if (lines.length > 0 && (pass.name === 'upgrade-opset' || pass.name === 'fold-constants' || pass.name === 'inline-constant-if' || pass.name === 'freeze-inputs')) infer();
    }
    if (changed === 0) break;
  }
  infer();
  const tag = enabled.find((p) => p.name === 'tag-activations');
  if (tag) reports.get(tag.name)!.push(...runPass(tag as Pass<unknown>, model, opts));
  assertValid(model);
  return [...reports].map(([name, changes]) => ({ name, changes }));
}
