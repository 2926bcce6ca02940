/**
 * Docs as tests: every `octet ...` line in a ```sh block of docs/cli.md runs (spawning `node dist/cli.js`),
 * in document order, in one scratch folder, and must exit 0, print something, print valid JSON when it says
 * --json, and leave every file or folder it names in place. The scratch folder holds the names the examples
 * use (the convention is stated in docs/cli.md under "About the examples"):
 *   model.onnx   PP-OCR's orientation classifier (test/.fixtures/models/ppocr_cls.onnx)
 *   photos/      the fixture photos (test/.fixtures/images)
 *   image.npy    page.png as a [1, 3, 48, 192] float32 tensor, mean 0.5, std 0.5
 *   *.onnx       every fixture model by its file name
 * New examples (new commands, new flags) are picked up without touching this file.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { COMMANDS } from '../../../src/cli/commands/index.js';
import { writeNpy } from '../../../src/quantize/data.js';
import { IMAGES_DIR, MODELS_DIR } from '../onnx/helpers/onnx.js';
import { photoTensor } from '../onnx/helpers/images.js';
import { extractExamples, namedPaths, splitShellWords } from './helpers/doc-examples.js';
import { CLI, octet } from './helpers/spawn.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const DOC = join(ROOT, 'docs', 'cli.md');

describe('extracting examples from Markdown', () => {
  it('takes octet lines from sh blocks only, joins continued lines, and splits words as a shell does', () => {
    const md = [
      'Text: octet inspect not-this.onnx',
      '```',
      'octet inspect not-in-a-sh-block.onnx',
      '```',
      '```sh',
      'npm install octet',
      "octet quantize 'my model.onnx' -o \"out dir/m.onnx\" \\",
      '  --calibration photos/',
      'octet backends  # the CPU',
      '```',
    ].join('\n');
    expect(extractExamples(md)).toEqual([
      {
        line: 7,
        text: "octet quantize 'my model.onnx' -o \"out dir/m.onnx\" --calibration photos/",
        args: ['quantize', 'my model.onnx', '-o', 'out dir/m.onnx', '--calibration', 'photos/'],
      },
      { line: 9, text: 'octet backends  # the CPU', args: ['backends'] },
    ]);
  });

  it('refuses shell syntax the test would not run as a reader types it', () => {
    expect(() => splitShellWords('octet inspect m.onnx | head')).toThrow("unsupported shell syntax '|' in: octet inspect m.onnx | head");
    expect(() => splitShellWords('octet inspect m.onnx > out.txt')).toThrow("unsupported shell syntax '>'");
    expect(() => splitShellWords('octet run "$MODEL"')).toThrow("unsupported shell syntax '$'");
    expect(() => splitShellWords("octet inspect 'm.onnx")).toThrow("unterminated ' in");
  });

  it('names the files and folders an example mentions, not numbers or shapes', () => {
    expect(namedPaths(['quantize', 'model.onnx', '-o', 'model.int8.onnx', '--calibration', 'photos/', '--shape', 'x=1,3,48,192', '--mean', '0.5'])).toEqual([
      'model.onnx',
      'model.int8.onnx',
      'photos/',
    ]);
    expect(namedPaths(['run', 'm.onnx', '--input', 'x=image.npy', '--output-dir=out/', '--input', 'sr=16000'])).toEqual(['m.onnx', 'image.npy', 'out/']);
  });
});

describe('docs/cli.md: every example runs', () => {
  const examples = extractExamples(readFileSync(DOC, 'utf8'));
  let dir: string;

  beforeAll(() => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build:ts`);
    dir = mkdtempSync(join(tmpdir(), 'octet-docs-'));
    for (const f of readdirSync(MODELS_DIR).filter((f) => f.endsWith('.onnx'))) symlinkSync(join(MODELS_DIR, f), join(dir, f));
    symlinkSync(join(MODELS_DIR, 'ppocr_cls.onnx'), join(dir, 'model.onnx'));
    symlinkSync(IMAGES_DIR, join(dir, 'photos'));
    writeFileSync(join(dir, 'image.npy'), writeNpy(photoTensor('page.png', 192, 48), [1, 3, 48, 192]));
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('has examples for every command, and each --help example is one of them', () => {
    const texts = new Set(examples.map((e) => e.text));
    for (const c of COMMANDS) {
      expect(examples.some((e) => e.args[0] === c.name), `no example for '${c.name}' in docs/cli.md`).toBe(true);
      const helpExamples = c.help.map((l) => l.trim()).filter((l) => l.startsWith('octet '));
      expect(helpExamples.length, `'octet ${c.name} --help' has no examples`).toBeGreaterThanOrEqual(1);
      for (const h of helpExamples) expect(texts.has(h), `'${h}' (octet ${c.name} --help) is not in docs/cli.md`).toBe(true);
    }
  });

  for (const ex of examples) {
    it(`line ${ex.line}: ${ex.text}`, async () => {
      const r = await octet(ex.args, { cwd: dir });
      expect(r.status, `exit ${r.status}, stderr:\n${r.stderr}`).toBe(0);
      expect(r.stdout.trim().length).toBeGreaterThan(0);
      if (ex.args.includes('--json')) expect(() => JSON.parse(r.stdout)).not.toThrow();
      for (const p of namedPaths(ex.args)) {
        const full = join(dir, p);
        expect(existsSync(full), `'${p}' does not exist after the example`).toBe(true);
        if (p.endsWith('/')) expect(readdirSync(full).length, `'${p}' is empty`).toBeGreaterThan(0);
        else expect(statSync(full).size, `'${p}' is empty`).toBeGreaterThan(0);
      }
    }, 300_000);
  }
});
