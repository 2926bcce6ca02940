/**
 * The CLI's conventions, checked on the built CLI as a user meets them: exit codes (0 ok, 1 user error with
 * one line, 2 internal error with the stack), --help for every command, and colour/escape codes only on a
 * terminal without NO_COLOR (a pseudo-terminal comes from util-linux `script`).
 */

import { describe, expect, it } from 'vitest';

import type { CliIO, Command } from '../../../src/cli/command.js';
import { COMMANDS } from '../../../src/cli/commands/index.js';
import { colorFor, main } from '../../../src/cli/main.js';
import { join } from 'node:path';

import { MODELS_DIR } from '../onnx/helpers/onnx.js';
import { CLI, run, type Spawned } from './helpers/spawn.js';

const CLS = join(MODELS_DIR, 'ppocr_cls.onnx');

function octet(args: string[], env: Record<string, string | undefined> = {}): Promise<Spawned> {
  return run(process.execPath, [CLI, ...args], { env: { ...process.env, NO_COLOR: undefined, ...env } });
}

/** Runs the CLI on a pseudo-terminal (stdout and stderr both a TTY, merged); returns what the terminal shows. */
async function onTerminal(args: string[], env: Record<string, string | undefined> = {}): Promise<{ status: number | null; screen: string }> {
  const cmd = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  const r = await run('script', ['-qec', cmd, '/dev/null'], {
    env: { ...process.env, NO_COLOR: undefined, CI: undefined, OCTET_QUIET: undefined, TERM: 'xterm', ...env },
  });
  return { status: r.status, screen: r.stdout };
}

const SGR = /\x1b\[[0-9;]*m/; // a colour/style escape
const ANY_ESCAPE = /\x1b/;

describe('exit codes', () => {
  it('0 for success', async () => {
    const r = await octet(['backends']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^xnnpack /m);
  });

  it('1 for user errors, with one line on stderr and nothing on stdout', async () => {
    const cases: [string[], string][] = [
      [['frobnicate'], "octet: error: unknown command 'frobnicate'. Commands: " + COMMANDS.map((c) => c.name).join(', ')],
      [['bench'], `octet bench: error: expected one MODEL.onnx, got 0: ${COMMANDS.find((c) => c.name === 'bench')!.usage}`],
      [['inspect', CLS, '--jsn'], "octet inspect: error: Unknown option '--jsn'"],
      [['run', '/nonexistent.onnx', '--input', 'x=a.npy'], "octet run: error: Cannot read model file '/nonexistent.onnx': ENOENT: no such file or directory, open '/nonexistent.onnx'"],
      [['quantize', CLS, '-o', '/nonexistent-dir/m.onnx', '--weight-only'], /^octet quantize: error: cannot write '\/nonexistent-dir\/m.onnx': ENOENT/ as unknown as string],
      [['bench', CLS, '--input', 'x=1,3,48,192', '--runs', '0'], "octet bench: error: --runs: expected a positive integer, got '0'"],
    ];
    for (const [args, message] of cases) {
      const r = await octet(args);
      expect(r.status, args.join(' ')).toBe(1);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines, args.join(' ')).toHaveLength(1);
      if (typeof message === 'string') expect(lines[0]).toBe(message);
      else expect(lines[0]).toMatch(message);
    }
  });

  it('2 for an internal error, with the stack', async () => {
    const broken: Command = {
      name: 'broken',
      summary: 'throws a plain Error, as a bug would',
      usage: 'octet broken',
      help: [],
      options: {},
      run() {
        return ([1][3] as number).toFixed().length; // a TypeError from a bug, not from argument checking
      },
    };
    const stderr: string[] = [];
    const io: CliIO = { out: () => {}, err: (l) => stderr.push(l), color: false };
    expect(await main(['broken'], io, [broken])).toBe(2);
    expect(stderr).toHaveLength(1);
    expect(stderr[0]).toMatch(/^octet: internal error: TypeError: Cannot read properties of undefined \(reading 'toFixed'\)\n {4}at /);
  });
});

describe('--help', () => {
  it('every command has a usage line, options and 2-3 examples, and exits 0', async () => {
    for (const c of COMMANDS) {
      const r = await octet([c.name, '--help']);
      expect(r.status, c.name).toBe(0);
      const lines = r.stdout.trimEnd().split('\n');
      expect(lines[0]).toBe(`Usage: ${c.usage}`);
      expect(lines[0].startsWith(`Usage: octet ${c.name}`)).toBe(true);
      expect(lines).toContain('Options:');
      const examples = lines.slice(lines.indexOf('Examples:') + 1).filter((l) => l.startsWith('  octet '));
      expect(lines, c.name).toContain('Examples:');
      expect(examples.length, c.name).toBeGreaterThanOrEqual(2);
      expect(examples.length, c.name).toBeLessThanOrEqual(3);
      for (const e of examples) expect(e.startsWith(`  octet ${c.name} `) || e === `  octet ${c.name}`).toBe(true);
    }
  });

  it('octet --help lists every command and the exit codes', async () => {
    const r = await octet(['--help']);
    expect(r.status).toBe(0);
    for (const c of COMMANDS) expect(r.stdout).toMatch(new RegExp(`^  ${c.name} +${c.summary.replace(/[()]/g, '\\$&')}$`, 'm'));
    expect(r.stdout).toContain('Exit codes: 0 success, 1 a user error (one-line message), 2 an internal error (with its stack).');
  });
});

describe('colour and escape codes', () => {
  it('colour needs a terminal, NO_COLOR unset or empty, and TERM not dumb', async () => {
    expect(colorFor({ isTTY: true }, {})).toBe(true);
    expect(colorFor({ isTTY: true }, { NO_COLOR: '' })).toBe(true);
    expect(colorFor({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(colorFor({ isTTY: true }, { TERM: 'dumb' })).toBe(false);
    expect(colorFor({ isTTY: false }, {})).toBe(false);
    expect(colorFor({}, {})).toBe(false);
  });

  it('on a terminal: colour (the test can see it)', async () => {
    const ok = await onTerminal(['inspect', CLS]);
    expect(ok.status).toBe(0);
    expect(ok.screen).toMatch(SGR);
    const bad = await onTerminal(['nope']);
    expect(bad.status).toBe(1);
    expect(bad.screen).toContain('octet: \x1b[31merror\x1b[0m: unknown command');
  });

  it('NO_COLOR on a terminal: no colour', async () => {
    for (const args of [['inspect', CLS], ['nope'], ['bench', CLS, '--input', 'x=1,3,48,192', '--batch', '1', '--runs', '2', '--peer', 'onnxruntime']]) {
      const r = await onTerminal(args, { NO_COLOR: '1' });
      expect(r.screen, args.join(' ')).not.toMatch(SGR);
    }
  });

  it('not a terminal: no escape codes at all, and no progress bar', async () => {
    for (const args of [['inspect', CLS], ['nope'], ['bench', CLS, '--input', 'x=1,3,48,192', '--batch', '1', '--runs', '2', '--peer', 'onnxruntime']]) {
      const r = await octet(args);
      expect(r.stdout + r.stderr, args.join(' ')).not.toMatch(ANY_ESCAPE);
      expect(r.stderr).not.toContain('\r');
    }
  });

  it("bench's progress bar shows on a terminal's stderr, not with CI set", async () => {
    const args = ['bench', CLS, '--input', 'x=1,3,48,192', '--batch', '1', '--runs', '3', '--warmup', '0'];
    expect((await onTerminal(args)).screen).toMatch(/\rbench ppocr_cls\.onnx [█░]+ +3\/3 +100% \d+:\d\d/);
    expect((await onTerminal(args, { CI: 'true' })).screen).not.toContain('█');
  });
});
