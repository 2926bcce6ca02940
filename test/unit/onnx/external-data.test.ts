import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { OnnxError } from '../../../src/onnx/errors.js';
import { loadModel, saveModel } from '../../../src/onnx/io.js';
import { realModel } from './helpers/onnx.js';
import { graphModel, valueInfo as vi } from './helpers/proto.js';

const root = mkdtempSync(join(tmpdir(), 'octet-ext-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function modelWithExternal(dir: string, location: string, offset = 0, length = 8): string {
  mkdirSync(dir, { recursive: true });
  const bytes = graphModel({
    input: [vi('x', [2])],
    output: [vi('y', [2])],
    initializer: [{ name: 'k', dataType: 1, dims: [2], dataLocation: 1, externalData: [{ key: 'location', value: location }, { key: 'offset', value: String(offset) }, { key: 'length', value: String(length) }] }],
    node: [{ opType: 'Add', input: ['x', 'k'], output: ['y'] }],
  });
  const path = join(dir, 'model.onnx');
  writeFileSync(path, bytes);
  return path;
}

function onnxError(fn: () => unknown): OnnxError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(OnnxError);
    return err as OnnxError;
  }
  throw new Error('expected an OnnxError');
}

describe('external data', () => {
  it('rejects a location with .., an absolute path, and a symlink leaving the folder', () => {
    const outside = join(root, 'outside.bin');
    writeFileSync(outside, new Uint8Array(8));
    let err = onnxError(() => loadModel(modelWithExternal(join(root, 'a'), '../outside.bin')));
    expect(err.message).toBe("External data location '../outside.bin' of tensor 'k' contains '..'; only files inside the model's folder are read");
    expect(err.tensor).toBe('k');
    err = onnxError(() => loadModel(modelWithExternal(join(root, 'b'), outside)));
    expect(err.message).toBe(`External data location '${outside}' of tensor 'k' is an absolute path; only files inside the model's folder are read`);
    const dir = join(root, 'c');
    const path = modelWithExternal(dir, 'weights.bin');
    symlinkSync(outside, join(dir, 'weights.bin'));
    err = onnxError(() => loadModel(path));
    expect(err.message).toBe(`External data file 'weights.bin' of tensor 'k' resolves outside the model's folder (symlink to '${outside}')`);
  });

  it('refuses what is not a regular file inside the folder: a folder, a device through a symlink, a FIFO (without blocking)', () => {
    const dir = join(root, 'nf1');
    const path = modelWithExternal(dir, 'w.bin');
    mkdirSync(join(dir, 'w.bin'));
    expect(onnxError(() => loadModel(path)).message).toBe("External data location 'w.bin' of tensor 'k' is not a regular file");
    const path2 = modelWithExternal(join(root, 'nf2'), 'zero.bin');
    symlinkSync('/dev/zero', join(root, 'nf2', 'zero.bin'));
    expect(onnxError(() => loadModel(path2)).message).toBe("External data file 'zero.bin' of tensor 'k' resolves outside the model's folder (symlink to '/dev/zero')");
    const path3 = modelWithExternal(join(root, 'nf3'), 'pipe.bin');
    execFileSync('mkfifo', [join(root, 'nf3', 'pipe.bin')]);
    expect(onnxError(() => loadModel(path3)).message).toBe("External data location 'pipe.bin' of tensor 'k' is not a regular file");
  });

  it('rejects a missing file, data past its end, a wrong length, and bytes without a folder', () => {
    const dir = join(root, 'd');
    const path = modelWithExternal(dir, 'w.bin', 4, 8);
    expect(onnxError(() => loadModel(path)).message).toMatch(/^External data file 'w.bin' of tensor 'k' cannot be opened: ENOENT/);
    writeFileSync(join(dir, 'w.bin'), new Uint8Array(10));
    expect(onnxError(() => loadModel(path)).message).toBe("External data of tensor 'k' (offset 4, length 8) lies beyond the end of 'w.bin' (10 bytes)");
    const path2 = modelWithExternal(join(root, 'e'), 'w.bin', 0, 4);
    writeFileSync(join(root, 'e', 'w.bin'), new Uint8Array(16));
    expect(onnxError(() => loadModel(path2)).message).toBe("External data of tensor 'k' has length 4 but its dtype and dims need 8 bytes");
    expect(onnxError(() => loadModel(readFileSync(path2))).message).toBe("Tensor 'k' has external data ('w.bin') but the model was loaded from bytes; pass options.baseDir");
  });

  it('reads external data inside the folder (also through a symlink that stays inside)', () => {
    const dir = join(root, 'nf1');
    const path = modelWithExternal(dir, 'sub/w.bin', 4, 8);
    mkdirSync(join(dir, 'sub'));
    const data = new Uint8Array(12);
    new DataView(data.buffer).setFloat32(4, 1.5, true);
    new DataView(data.buffer).setFloat32(8, -2, true);
    writeFileSync(join(dir, 'real.bin'), data);
    symlinkSync(join(dir, 'real.bin'), join(dir, 'sub', 'w.bin'));
    const model = loadModel(path);
    expect(model.graph.values.get('k')!.initializer!.toNumbers()).toEqual([1.5, -2]);
    expect(model.graph.values.get('k')!.initializer!.external).toEqual({ location: 'sub/w.bin', offset: 4, length: 8 });
    // Loading from bytes works with baseDir.
    expect(loadModel(readFileSync(path), { baseDir: dir }).graph.values.get('k')!.initializer!.toNumbers()).toEqual([1.5, -2]);
  });

  it('saves large initializers to one external file and loads them back identically', () => {
    const model = loadModel(realModel('blazeface_front'));
    const dir = join(root, 'g');
    mkdirSync(dir);
    const path = join(dir, 'blazeface.onnx');
    saveModel(model, path, { externalData: { threshold: 4096 } });
    expect(existsSync(join(dir, 'blazeface.onnx.data'))).toBe(true);
    expect(readFileSync(path).length).toBeLessThan(100_000);
    const again = loadModel(path);
    for (const v of model.graph.initializers) {
      expect(Buffer.from(again.graph.values.get(v.name)!.initializer!.data).equals(Buffer.from(v.initializer!.data)), v.name).toBe(true);
    }
    expect(Buffer.from(saveModel(again)).equals(Buffer.from(saveModel(model)))).toBe(true);
  });
});
