import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { loadModel, saveModel } from '../../../src/onnx/io.js';
import { nodeTestCases, normalizedModel, REAL_MODELS, realModel, TESTDATA } from '../../helpers/onnx.js';

describe('round trip: load -> save -> load', () => {
  it('is lossless on every node case of the ONNX backend test suite', () => {
    const cases = nodeTestCases();
    expect(cases.length).toBeGreaterThanOrEqual(900);
    const failures: string[] = [];
    for (const c of cases) {
      try {
        const bytes = readFileSync(join(c.dir, 'model.onnx'));
        const saved = saveModel(loadModel(bytes));
        const again = saveModel(loadModel(saved));
        expect(normalizedModel(saved)).toEqual(normalizedModel(bytes));
        expect(Buffer.from(again).equals(Buffer.from(saved))).toBe(true);
      } catch (err) {
        failures.push(`${c.name}: ${(err as Error).message.split('\n').slice(0, 6).join(' | ')}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('is lossless on the simple, pytorch-converted, pytorch-operator and real cases too', () => {
    const failures: string[] = [];
    let count = 0;
    for (const set of ['simple', 'pytorch-converted', 'pytorch-operator', 'real']) {
      const dir = join(TESTDATA, set);
      for (const name of readdirSync(dir)) {
        const path = join(dir, name, 'model.onnx');
        if (!existsSync(path)) continue;
        count++;
        try {
          const bytes = readFileSync(path);
          const saved = saveModel(loadModel(bytes));
          expect(normalizedModel(saved)).toEqual(normalizedModel(bytes));
        } catch (err) {
          failures.push(`${set}/${name}: ${(err as Error).message.split('\n')[0]}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(count).toBeGreaterThan(100);
  });

  for (const name of REAL_MODELS) {
    it(`is lossless on ${name}`, () => {
      const bytes = readFileSync(realModel(name));
      const saved = saveModel(loadModel(bytes));
      expect(normalizedModel(saved)).toEqual(normalizedModel(bytes));
      expect(Buffer.from(saveModel(loadModel(saved))).equals(Buffer.from(saved))).toBe(true);
    });
  }
});
