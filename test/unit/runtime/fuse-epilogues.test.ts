/** The plan pass that folds HardSwish and scalar affine chains into a float32 Conv (src/lower/fuse-epilogues.ts). */
import { describe, expect, it } from 'vitest';

import { fuseConvEpilogues } from '../../../src/lower/fuse-epilogues.js';
import { createPlan, type Plan } from '../../../src/runtime/plan.js';
import { runReference } from '../../../src/runtime/reference/interpreter.js';
import { expectClose, PlanBuilder, quant, randomFloat, randomInts } from './helpers.js';

const S = [1, 6, 6, 8];
const scalarConst = (b: PlanBuilder, name: string, v: number) => b.constant(name, 'float32', [1, 1, 1, 1], Float32Array.of(v));

/** Conv → HardSwish spelled out as PaddlePaddle exports it → Mul(s) → Add(b); options vary the spelling. */
function chain(opts: { clampedAdd?: boolean; mulSixth?: boolean; extraOutput?: 'gate' | 'conv' } = {}): Plan {
  const b = new PlanBuilder();
  const x = b.input('x', 'float32', S);
  const w = b.constant('w', 'float32', [8, 3, 3, 1], randomFloat(72, 2, -1.5, 1.5));
  const bias = b.constant('b', 'float32', [8], randomFloat(8, 3));
  const y = b.value('y', 'float32', S);
  const a = b.value('a', 'float32', S);
  const c = b.value('c', 'float32', S);
  const m = b.value('m', 'float32', S);
  const h = b.value('h', 'float32', S);
  const s = b.value('s', 'float32', S);
  const out = b.value('out', 'float32', S);
  b.node('Conv', [x, w, bias], [y], { group: 8, pads: [1, 1, 1, 1] });
  if (opts.clampedAdd) {
    b.node('Add', [y, scalarConst(b, 'three', 3)], [c], { activationMin: 0, activationMax: 6 });
  } else {
    b.node('Add', [scalarConst(b, 'three', 3), y], [a]).node('Clip', [a], [c], { min: 0, max: 6 });
  }
  b.node('Mul', [c, y], [m]);
  if (opts.mulSixth) b.node('Mul', [m, scalarConst(b, 'sixth', 1 / 6)], [h]);
  else b.node('Div', [m, scalarConst(b, 'six', 6)], [h]);
  b.node('Mul', [scalarConst(b, 'scale', 0.8), h], [s]).node('Add', [s, scalarConst(b, 'shift', -0.25)], [out]);
  b.output(out);
  if (opts.extraOutput === 'gate') b.output(c);
  if (opts.extraOutput === 'conv') b.output(y);
  return b.build();
}

async function expectSameAsUnfused(opts: Parameters<typeof chain>[0]): Promise<Plan> {
  const plan = chain(opts);
  const x = randomFloat(288, 5, -4, 4);
  const want = runReference(chain(opts), [x]);
  expect(fuseConvEpilogues(plan)).toBe(1);
  const p = createPlan(plan);
  const got = await p.run([x]);
  p.release();
  expectClose(got[0] as Float32Array, want[0] as Float64Array, 1e-5, 1e-5);
  return plan;
}

describe('fuseConvEpilogues', () => {
  it('folds Add(3) → Clip(0, 6) → Mul → Div(6) → Mul(s) → Add(b) into the Conv, same outputs as unfused', async () => {
    const plan = await expectSameAsUnfused({});
    expect(plan.nodes.map((n) => n.op)).toEqual(['Conv']);
    expect(plan.nodes[0].attrs).toMatchObject({ activation: 'HardSwish', affineScale: expect.closeTo(0.8, 6), affineBias: -0.25 });
    expect(plan.nodes[0].outputs).toEqual(plan.outputs);
  });

  it('also the clamped-Add and Mul(1/6) spellings', async () => {
    const plan = await expectSameAsUnfused({ clampedAdd: true, mulSixth: true });
    expect(plan.nodes.map((n) => n.op)).toEqual(['Conv']);
  });

  it('leaves the chain alone when an intermediate value is used elsewhere (a plan output)', () => {
    for (const extraOutput of ['gate', 'conv'] as const) {
      const plan = chain({ extraOutput });
      const before = plan.nodes.length;
      const fused = fuseConvEpilogues(plan);
      // A gate inside the HardSwish, or the Conv's own output, used elsewhere: nothing can move into the Conv.
      expect(fused).toBe(0);
      expect(plan.nodes).toHaveLength(before);
    }
  });
});

describe('fuseConvEpilogues: Relu after Add becomes its clamp', () => {
  function residual(dtype: 'float32' | 'uint8', reluQuant?: [number, number]): Plan {
    const b = new PlanBuilder();
    const q = dtype === 'uint8' ? quant(0.05, 120) : undefined;
    const x = b.input('x', dtype, [2, 3, 4], q);
    const r = b.input('r', dtype, [2, 3, 4], q);
    const s = b.value('s', dtype, [2, 3, 4], q);
    const y = b.value('y', dtype, [2, 3, 4], reluQuant ? quant(...reluQuant) : q);
    b.node('Add', [x, r], [s]).node('Relu', [s], [y]).output(y);
    return b.build();
  }
  it('float32 and uint8 with the same quantization: one Add with activationMin 0, same outputs', async () => {
    const f = [randomFloat(24, 1, -2, 2), randomFloat(24, 2, -2, 2)];
    const u = [randomInts(24, 3, 0, 255, Uint8Array), randomInts(24, 4, 0, 255, Uint8Array)];
    for (const [dtype, ins] of [['float32', f], ['uint8', u]] as const) {
      const plan = residual(dtype);
      const want = createPlan(residual(dtype)).runSync(ins);
      expect(fuseConvEpilogues(plan)).toBe(1);
      expect(plan.nodes.map((n) => `${n.op}${JSON.stringify(n.attrs)}`)).toEqual(['Add{"activationMin":0}']);
      expect(Array.from(createPlan(plan).runSync(ins)[0] as Float32Array)).toEqual(Array.from(want[0] as Float32Array));
    }
  });
  it('not when the Relu requantizes (it would round once where the file rounds twice)', () => {
    const plan = residual('uint8', [0.04, 0]);
    expect(fuseConvEpilogues(plan)).toBe(0);
    expect(plan.nodes).toHaveLength(2);
  });
});
