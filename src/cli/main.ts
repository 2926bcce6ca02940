/**
 * octet <command> [args]: a small dispatcher over the commands in src/cli/commands/.
 * Exit codes: 0 ok, 1 user error (one-line message), 2 internal error (with stack).
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { OctetError } from '../errors.js';
import type { CliIO, Command } from './command.js';
import { UsageError } from './command.js';
import { COMMANDS } from './commands/index.js';

/** Colour on a stream only when it is a terminal, NO_COLOR is unset or empty (no-color.org), and TERM is not dumb. */
export function colorFor(stream: { isTTY?: boolean }, env: Record<string, string | undefined> = process.env): boolean {
  return stream.isTTY === true && !env.NO_COLOR && env.TERM !== 'dumb';
}

function defaultIO(): CliIO {
  return {
    out: (l) => process.stdout.write(`${l}\n`),
    err: (l) => process.stderr.write(`${l}\n`),
    color: colorFor(process.stdout),
    errColor: colorFor(process.stderr),
  };
}

function mainHelp(commands: readonly Command[]): string[] {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'Usage: octet <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run 'octet <command> --help' for a command's options and examples.",
    'Exit codes: 0 success, 1 a user error (one-line message), 2 an internal error (with its stack).',
  ];
}

function commandHelp(c: Command): string[] {
  return [`Usage: ${c.usage}`, '', c.summary, ...(c.help.length ? ['', ...c.help] : [])];
}

/** Runs the CLI on argv (without node and script); returns the exit code. `commands` is for tests. */
export async function main(argv: string[], io: CliIO = defaultIO(), commands: readonly Command[] = COMMANDS): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.err : io.out)(mainHelp(commands).join('\n'));
    return name === undefined ? 1 : 0;
  }
  if (name === '--version' || name === '-v') {
    io.out(process.env.npm_package_version ?? '0.1.0');
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  try {
    if (!command) throw new UsageError(`unknown command '${name}'. Commands: ${commands.map((c) => c.name).join(', ')}`);
    if (rest.includes('--help') || rest.includes('-h')) {
      io.out(commandHelp(command).join('\n'));
      return 0;
    }
    let parsed;
    try {
      parsed = parseArgs({ args: rest, options: command.options, allowPositionals: true, strict: true });
    } catch (err) {
      throw new UsageError((err as Error).message.split('\n')[0].split('. To specify')[0]);
    }
    return await command.run({ positionals: parsed.positionals, values: parsed.values as never }, io);
  } catch (err) {
    // Argument checks of the library speak in one voice ("Expected ... for ...", "Unknown option ..."): user errors.
    const argumentError = (err instanceof TypeError || err instanceof RangeError) && /^(Expected |Unknown option |Unknown graph input )/.test(err.message);
    if (err instanceof UsageError || err instanceof OctetError || argumentError) {
      const prefix = (io.errColor ?? io.color) ? '\x1b[31merror\x1b[0m' : 'error';
      io.err(`octet${command ? ` ${command.name}` : ''}: ${prefix}: ${(err as Error).message.split('\n')[0]}`);
      return 1;
    }
    io.err(`octet: internal error: ${(err as Error)?.stack ?? String(err)}`);
    return 2;
  }
}

function isEntryPoint(): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  // `octet inspect m.onnx | head`: a closed pipe ends the output, not the process with a stack.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`octet: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exitCode = 2;
    },
  );
}
