import { describe, expect, it } from 'vitest';

import type { CliIO } from '../../../src/cli/command.js';
import { main } from '../../../src/cli/main.js';
import { realModel } from '../onnx/helpers/onnx.js';

function capture(): CliIO & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, color: false, out: (l) => stdout.push(l), err: (l) => stderr.push(l) };
}

describe('octet inspect: invalid arguments', () => {
  it('needs exactly one model', async () => {
    const io = capture();
    expect(await main(['inspect'], io)).toBe(1);
    expect(io.stderr[0]).toBe('octet inspect: error: expected one MODEL.onnx, got 0: octet inspect MODEL.onnx [--json] [--shape NAME=D,D,...] [--freeze NAME=VALUE] [--verbose]');
  });

  it('rejects malformed --shape and --freeze, and unknown input names', async () => {
    let io = capture();
    expect(await main(['inspect', realModel('ppocr_cls'), '--shape', 'x'], io)).toBe(1);
    expect(io.stderr).toEqual(["octet inspect: error: --shape expects NAME=VALUE, got 'x'"]);
    io = capture();
    expect(await main(['inspect', realModel('ppocr_cls'), '--freeze', 'sr=fast'], io)).toBe(1);
    expect(io.stderr).toEqual(["octet inspect: error: --freeze sr: 'fast' is not a number"]);
    io = capture();
    expect(await main(['inspect', realModel('ppocr_cls'), '--shape', 'image=1,3,48,192'], io)).toBe(1);
    expect(io.stderr).toEqual(["octet inspect: error: Unknown graph input 'image' in inputShapes; inputs are 'x'"]);
  });
});

describe('octet inspect', () => {
  it('prints inputs, outputs, opset, operators, parameters and pass changes', async () => {
    const io = capture();
    expect(await main(['inspect', realModel('ppocr_cls')], io)).toBe(0);
    const text = io.stdout.join('\n');
    expect(io.stdout[0]).toMatch(/^ppocr_cls\.onnx {2}565\.4 KiB, IR 8$/);
    expect(text).toContain('opsets     ai.onnx 9');
    expect(text).toContain('  x                float32  [p2o.DynamicDimension.0, 3, p2o.DynamicDimension.1, p2o.DynamicDimension.2]');
    expect(text).toMatch(/operators {2}\d+ nodes\n {2}Constant 250, Conv 53, /);
    expect(text).toMatch(/parameters [\d.]+ k in 250 tensors, [\d.]+ KiB/);
    expect(text).toContain('  upgrade-opset            21 changes');
    expect(text).toContain('  fuse-bn-into-conv        35 changes');
  });

  it('--json gives the same report as data', async () => {
    const io = capture();
    expect(await main(['inspect', realModel('silero_vad_v5'), '--json', '--freeze', 'sr=16000'], io)).toBe(0);
    const report = JSON.parse(io.stdout.join('\n'));
    expect(report.opsets).toEqual([{ domain: 'ai.onnx', version: 16 }]);
    expect(report.inputs.map((v: { name: string }) => v.name)).toEqual(['input', 'state', 'sr']);
    expect(report.inputs[2]).toEqual({ name: 'sr', dtype: 'int64', shape: [] });
    expect(report.operators.find((o: { op: string }) => o.op === 'LSTM').count).toBe(4);
    expect(report.parameters.tensors).toBe(341);
    const passes = Object.fromEntries(report.passes.map((p: { name: string; changes: string[] }) => [p.name, p.changes.length]));
    expect(passes['freeze-inputs']).toBe(1);
    expect(passes['inline-constant-if']).toBeGreaterThan(0);
  });

  it('--shape makes the shapes static for the pass report', async () => {
    const io = capture();
    expect(await main(['inspect', realModel('ppocr_rec'), '--json', '--shape', 'x=1,3,48,320'], io)).toBe(0);
    const report = JSON.parse(io.stdout.join('\n'));
    const folded = report.passes.find((p: { name: string }) => p.name === 'fold-constants').changes as string[];
    expect(folded.some((c) => c.startsWith('Shape'))).toBe(true);
  });
});
