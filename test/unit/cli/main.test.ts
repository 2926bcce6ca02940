import { describe, expect, it } from 'vitest';

import type { CliIO } from '../../../src/cli/command.js';
import { main } from '../../../src/cli/main.js';
import { realModel } from '../onnx/helpers/onnx.js';

function capture(color = false): CliIO & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, color, out: (l) => stdout.push(l), err: (l) => stderr.push(l) };
}

describe('octet (dispatcher): user errors exit 1 with one line', () => {
  it('an unknown command', async () => {
    const io = capture();
    expect(await main(['inspec'], io)).toBe(1);
    expect(io.stderr).toEqual(["octet: error: unknown command 'inspec'. Commands: analyze, backends, bench, inspect, quantize, run"]);
  });

  it('an unknown option', async () => {
    const io = capture();
    expect(await main(['inspect', '--jsn', 'm.onnx'], io)).toBe(1);
    expect(io.stderr).toEqual(["octet inspect: error: Unknown option '--jsn'"]);
  });

  it('no command prints the help on stderr', async () => {
    const io = capture();
    expect(await main([], io)).toBe(1);
    expect(io.stderr[0]).toMatch(/^Usage: octet <command> \[options\]/);
  });

  it('a model that does not load', async () => {
    const io = capture();
    expect(await main(['inspect', '/nonexistent.onnx'], io)).toBe(1);
    expect(io.stderr).toHaveLength(1);
    expect(io.stderr[0]).toMatch(/^octet inspect: error: Cannot read model file '\/nonexistent.onnx': ENOENT/);
  });

  it('colours the error label only when asked (NO_COLOR is honoured by the default IO)', async () => {
    const io = capture(true);
    await main(['nope'], io);
    expect(io.stderr[0]).toContain('\x1b[31merror\x1b[0m');
  });
});

describe('octet --help', () => {
  it('lists the commands, and each command has its own help', async () => {
    let io = capture();
    expect(await main(['--help'], io)).toBe(0);
    expect(io.stdout.join('\n')).toMatch(/inspect +Show a model/);
    io = capture();
    expect(await main(['inspect', '--help'], io)).toBe(0);
    expect(io.stdout.join('\n').split('\n')[0]).toBe('Usage: octet inspect MODEL.onnx [--json] [--shape NAME=D,D,...] [--freeze NAME=VALUE] [--verbose]');
  });

  it('runs a command', async () => {
    const io = capture();
    expect(await main(['inspect', realModel('blazeface_front')], io)).toBe(0);
    expect(io.stderr).toEqual([]);
  });
});
