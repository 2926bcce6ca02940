import { describe, expect, it } from 'vitest';

import type { CliIO } from '../../../src/cli/command.js';
import { main } from '../../../src/cli/main.js';
import { backends } from '../../../src/index.js';

function capture(): CliIO & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, color: false, out: (l) => stdout.push(l), err: (l) => stderr.push(l) };
}

describe('octet backends', () => {
  it('rejects unknown options', async () => {
    const io = capture();
    expect(await main(['backends', '--jsno'], io)).toBe(1);
    expect(io.stderr).toEqual(["octet backends: error: Unknown option '--jsno'"]);
  });

  it('prints one line per backend with its ISA', async () => {
    const io = capture();
    expect(await main(['backends'], io)).toBe(0);
    const list = backends();
    expect(io.stdout).toHaveLength(list.length);
    expect(io.stdout[0]).toMatch(/^xnnpack\s+0\.0~git20220216\s+isa=\S+\s+features=/);
    if (process.arch === 'x64') expect(io.stdout[1]).toMatch(/^onednn\s+2\.6\.3\s+isa=/);
  });

  it('--json gives what backends() returns', async () => {
    const io = capture();
    expect(await main(['backends', '--json'], io)).toBe(0);
    expect(JSON.parse(io.stdout.join('\n'))).toEqual(backends());
  });
});
