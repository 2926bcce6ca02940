import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import type { CliIO } from '../../../src/cli/command.js';
import { main } from '../../../src/cli/main.js';
import { decodeTensorProto } from '../../../src/onnx/proto.js';
import { decodeTensor } from '../../../src/onnx/tensor-proto.js';
import { readNpy, writeNpy } from '../../../src/quantize/data.js';
import { TESTDATA } from '../onnx/helpers/onnx.js';

function capture(): CliIO & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, color: false, out: (l) => stdout.push(l), err: (l) => stderr.push(l) };
}

const CASE = join(TESTDATA, 'node', 'test_add_bcast');
const pb = (name: string) => join(CASE, 'test_data_set_0', name);

describe('octet run: user errors', () => {
  it('names a missing or unknown input and a bad file type', async () => {
    let io = capture();
    expect(await main(['run', join(CASE, 'model.onnx'), '--input', `x=${pb('input_0.pb')}`], io)).toBe(1);
    expect(io.stderr).toEqual(['octet run: error: missing --input for y']);
    io = capture();
    expect(await main(['run', join(CASE, 'model.onnx'), '--input', `nope=${pb('input_0.pb')}`], io)).toBe(1);
    expect(io.stderr).toEqual(["octet run: error: --input: the model has no input 'nope'; its inputs are x, y"]);
    io = capture();
    expect(await main(['run', join(CASE, 'model.onnx'), '--input', 'x=image.png', '--input', `y=${pb('input_1.pb')}`], io)).toBe(1);
    expect(io.stderr).toEqual(["octet run: error: --input: 'image.png' is neither a .npy nor a .pb file"]);
    io = capture();
    expect(await main(['run', join(CASE, 'model.onnx'), '--threads', 'two'], io)).toBe(1);
    expect(io.stderr).toEqual(["octet run: error: --threads: expected a positive integer, got 'two'"]);
  });

  it('reports an input of the wrong shape in one line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'octet-run-'));
    writeFileSync(join(dir, 'x.npy'), writeNpy(new Float32Array(10), [10]));
    const io = capture();
    expect(await main(['run', join(CASE, 'model.onnx'), '--input', `x=${join(dir, 'x.npy')}`, '--input', `y=${pb('input_1.pb')}`], io)).toBe(1);
    expect(io.stderr).toHaveLength(1);
    expect(io.stderr[0]).toMatch(/^octet run: error: Expected 3 dims .* for feeds\['x'\]\.dims/);
  });
});

describe('octet run: ONNX backend test data', () => {
  it('reads .pb and .npy inputs and writes outputs equal to the expected ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'octet-run-'));
    // One input as .npy (converted from the .pb), one as .pb.
    const x = decodeTensor(decodeTensorProto(new Uint8Array(readFileSync(pb('input_0.pb')))));
    writeFileSync(join(dir, 'x.npy'), writeNpy(x.asFloat32(), [...x.dims]));
    const io = capture();
    const code = await main(['run', join(CASE, 'model.onnx'), '--input', `x=${join(dir, 'x.npy')}`, '--input', `y=${pb('input_1.pb')}`, '--output-dir', join(dir, 'out'), '--json'], io);
    expect(io.stderr).toEqual([]);
    expect(code).toBe(0);
    const report = JSON.parse(io.stdout.join('\n'));
    expect(report.outputs).toHaveLength(1);
    const got = readNpy(report.outputs[0].file);
    const want = decodeTensor(decodeTensorProto(new Uint8Array(readFileSync(pb('output_0.pb')))));
    expect(got.dims).toEqual([...want.dims]);
    const w = want.asFloat32();
    (got.data as Float32Array).forEach((v, i) => expect(Math.abs(v - w[i])).toBeLessThan(1e-4));
  });
});
