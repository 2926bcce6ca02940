import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { loadModel, saveModel } from '../../../src/onnx/io.js';
import { encodeModelObject, valueInfo } from './helpers/proto.js';
import { nodeTestCases, normalizedModel, REAL_MODELS, realModel, TESTDATA } from './helpers/onnx.js';

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

describe('round trip: model-local functions and IR 10 fields', () => {
  it('keeps functions intact and accepts nodes that call them', () => {
    const bytes = encodeModelObject({
      irVersion: 10,
      opsetImport: [{ domain: '', version: 18 }, { domain: 'local', version: 1 }],
      graph: { name: 'g', input: [valueInfo('x', [2])], output: [valueInfo('y', [2])], node: [{ opType: 'Twice', domain: 'local', name: 'call', input: ['x'], output: ['y'] }] },
      functions: [{ name: 'Twice', domain: 'local', input: ['a'], output: ['b'], opsetImport: [{ domain: '', version: 18 }], node: [{ opType: 'Add', input: ['a', 'a'], output: ['b'] }], docString: 'b = a + a' }],
      metadataProps: [{ key: 'author', value: 'octet tests' }],
    });
    const model = loadModel(bytes);
    expect(model.functions.map((f) => f.name)).toEqual(['Twice']);
    expect(model.metadata).toEqual([['author', 'octet tests']]);
    const saved = saveModel(model);
    expect(normalizedModel(saved)).toEqual(normalizedModel(bytes));
  });

  it('keeps fields the schema does not know (IR 10 metadata_props on nodes), byte for byte', () => {
    const model = loadModel(realModel('silero_vad_op18_ifless'));
    expect(model.irVersion).toBe(10);
    const node = model.graph.nodes[0];
    expect(node.extras.unknown?.length).toBeGreaterThan(0);
    const again = loadModel(saveModel(model));
    expect(again.graph.nodes[0].extras.unknown!.map((u) => Buffer.from(u).toString('hex'))).toEqual(node.extras.unknown!.map((u) => Buffer.from(u).toString('hex')));
  });
});
