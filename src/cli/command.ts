/**
 * What a CLI command is: a name, a one-line summary, its usage and options (node:util parseArgs), and a
 * run function. Commands live in src/cli/commands/, one file each, listed in src/cli/commands/index.ts.
 */
import type { ParseArgsConfig } from 'node:util';

export interface CliIO {
  out(line: string): void;
  err(line: string): void;
  /** Whether to use ANSI colour on stdout (a TTY and NO_COLOR unset). */
  color: boolean;
  /** The same for stderr; `color` when absent. */
  errColor?: boolean;
}

export interface CommandArgs {
  positionals: string[];
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
}

export interface Command {
  name: string;
  summary: string;
  /** `octet inspect MODEL.onnx [--json]` */
  usage: string;
  /** Extra help lines after the usage (options, examples). */
  help: string[];
  options: NonNullable<ParseArgsConfig['options']>;
  /** Returns the exit code. Throw UsageError for a user mistake. */
  run(args: CommandArgs, io: CliIO): Promise<number> | number;
}

/** A mistake by the user (bad arguments, unreadable file): exit code 1 and a one-line message. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
