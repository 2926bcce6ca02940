import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import type { SensitivityReport } from '../../../src/analysis/types.js';
import type { CliIO } from '../../../src/cli/command.js';
import { main } from '../../../src/cli/main.js';
import { serializeModel } from '../../../src/onnx/io.js';
import { quantize } from '../../../src/quantize/quantize.js';
import { photoSample, PHOTOS } from '../analysis/helpers.js';
import { IMAGES_DIR, MODELS_DIR } from '../onnx/helpers/onnx.js';

function capture(): CliIO & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, color: false, out: (l) => stdout.push(...l.split('\n')), err: (l) => stderr.push(l) };
}

const CLS = join(MODELS_DIR, 'ppocr_cls.onnx');
const IMAGE_ARGS = ['--calibration', IMAGES_DIR, '--shape', 'x=1,3,48,192', '--mean', '0.5', '--std', '0.5'];

describe('octet analyze', () => {
  let int8: string;
  beforeAll(async () => {
    const { model } = await quantize(CLS, { calibration: PHOTOS.slice(0, 3).map((p) => photoSample('x', [1, 3, 48, 192], p)), inputShapes: { x: [1, 3, 48, 192] }, progress: false });
    int8 = join(mkdtempSync(join(tmpdir(), 'octet-analyze-')), 'cls.int8.onnx');
    writeFileSync(int8, serializeModel(model));
  });

  it('rejects bad arguments with one line and exit code 1', async () => {
    const cases: [string[], string][] = [
      [['analyze', CLS], 'octet analyze: error: expected two models, FP32.onnx and INT8.onnx; got 1'],
      [['analyze', CLS, CLS], 'octet analyze: error: missing --calibration DIR (the samples to evaluate on)'],
      [['analyze', CLS, CLS, ...IMAGE_ARGS, '--top', '0'], "octet analyze: error: --top must be a positive integer, got '0'"],
      [['analyze', CLS, CLS, ...IMAGE_ARGS, '--max-samples', 'many'], "octet analyze: error: --max-samples must be a positive integer, got 'many'"],
      [['analyze', CLS, CLS, ...IMAGE_ARGS, '--mean', 'half'], "octet analyze: error: --mean expects a number or a comma-separated list, got 'half'"],
      [['analyze', CLS, CLS, ...IMAGE_ARGS], 'octet analyze: error: The int8 model holds no quantization ops (QuantizeLinear, DequantizeLinear, QLinearConv, ...)'],
      [['analyze', CLS, CLS, '--calibration', IMAGES_DIR, '--topp', '3'], "octet analyze: error: Unknown option '--topp'"],
    ];
    for (const [argv, message] of cases) {
      const io = capture();
      expect(await main(argv, io), argv.join(' ')).toBe(1);
      expect(io.stderr).toEqual([message]);
    }
  });

  it('prints the quantized nodes ranked by isolated SQNR and every output', async () => {
    const io = capture();
    const code = await main(['analyze', CLS, int8, ...IMAGE_ARGS, '--max-samples', '3', '--top', '5'], io);
    expect(io.stderr.filter((l) => !l.startsWith('warning:'))).toEqual([]);
    expect(code).toBe(0);
    const [head, blank, header, ...rest] = io.stdout;
    const nodes = Number(/^ppocr_cls\.onnx vs cls\.int8\.onnx: (\d+) quantized nodes, 3 samples, [\d.]+ M MACs per sample \([\d.]+ s\)$/.exec(head)?.[1]);
    expect(nodes).toBeGreaterThan(100);
    expect(blank).toBe('');
    expect(header.split(/\s{2,}/)).toEqual(['rank', 'node', 'op', 'MACs', 'isolated', 'accumulated', 'MSE (isolated)', 'max |err|']);
    const rows = rest.slice(0, 5).map((l) => l.trim().split(/\s{2,}/));
    expect(rows.map((r) => r[0])).toEqual(['1', '2', '3', '4', '5']);
    const isolated = rows.map((r) => Number.parseFloat(r[4]));
    expect([...isolated].sort((a, b) => a - b)).toEqual(isolated);
    expect(rest[5]).toBe(`... ${nodes - 5} more (--top N)`);
    expect(rest.slice(6)).toEqual(['', 'outputs', expect.stringMatching(/^\s*output\s+SQNR\s+MSE\s+max \|err\|$/), expect.stringMatching(/^\s*softmax_0\.tmp_0\s+-?[\d.]+ dB\s+/)]);
  }, 60_000);

  it('prints the SensitivityReport as JSON and writes the HTML report', async () => {
    const io = capture();
    const html = join(mkdtempSync(join(tmpdir(), 'octet-report-')), 'report.html');
    expect(await main(['analyze', CLS, int8, ...IMAGE_ARGS, '--max-samples', '2', '--json', '--report', html], io)).toBe(0);
    expect(io.stderr).toEqual([`report: ${html}`]);
    const page = readFileSync(html, 'utf8');
    expect(page).toMatch(/^<!doctype html>/);
    expect(page).toContain('p2o.Conv.0');
    const report = JSON.parse(io.stdout.join('\n')) as SensitivityReport;
    expect(report.samples).toBe(2);
    expect(report.models).toEqual({ fp32: 'ppocr_cls.onnx', int8: 'cls.int8.onnx' });
    expect(report.layers.length).toBeGreaterThan(100);
    expect(report.outputs.map((o) => o.name)).toEqual(['softmax_0.tmp_0']);
    expect(report.histograms.length).toBe(4);
    expect(report.graph.length).toBeGreaterThan(report.layers.length);
    expect(report.totalMacs).toBeGreaterThan(1e7);
  }, 60_000);
});

describe('octet quantize --target-sqnr', () => {
  it('rejects a target that is not a number', async () => {
    const io = capture();
    expect(await main(['quantize', CLS, '-o', '/tmp/x.onnx', ...IMAGE_ARGS, '--target-sqnr', 'high'], io)).toBe(1);
    expect(io.stderr).toEqual(["octet quantize: error: --target-sqnr must be a number, got 'high'"]);
  });

  it('keeps the most damaging nodes in fp32 and prints them with their MAC share', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'octet-mixed-')), 'cls.mixed.onnx');
    const io = capture();
    const code = await main(['quantize', CLS, '-o', out, ...IMAGE_ARGS, '--target-sqnr', '25', '--max-fp32-fraction', '0.5'], io);
    expect(io.stderr.filter((l) => !l.startsWith('warning:'))).toEqual([]);
    expect(code).toBe(0);
    const line = io.stdout.find((l) => l.startsWith('mixed precision: '));
    expect(line).toMatch(/^mixed precision: worst output SQNR [\d.]+ -> [\d.]+ dB on 2 held-out samples, target 25 dB met$/);
    const kept = io.stdout.find((l) => l.startsWith('kept in fp32: '));
    const m = /^kept in fp32: (\d+) nodes, ([\d.]+) % of MACs: (.+)$/.exec(kept ?? '');
    expect(m).not.toBeNull();
    expect(m![3].split(', ').length).toBe(Number(m![1]));
    expect(Number(m![2])).toBeLessThanOrEqual(50);
    expect(io.stdout).toContainEqual(expect.stringMatching(/^calibration: minmax, 7 samples, \d+ activations$/));
  }, 60_000);
});
