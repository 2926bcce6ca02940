/**
 * octet backends [--json]
 * The vendor libraries built in and what they detect on this CPU.
 */
import { backends } from '../../backends.js';
import type { CliIO, Command, CommandArgs } from '../command.js';

export const backendsCommand: Command = {
  name: 'backends',
  summary: 'List the int8 backends and the CPU features they detect',
  usage: 'octet backends [--json]',
  help: [
    'Options:',
    '  --json   print the list as JSON (name, version, available, isa, features, error)',
    '',
    'Examples:',
    '  octet backends',
    '  octet backends --json',
  ],
  options: { json: { type: 'boolean' } },
  run(args: CommandArgs, io: CliIO): number {
    const list = backends();
    if (args.values.json) {
      io.out(JSON.stringify(list, null, 2));
      return 0;
    }
    for (const b of list) {
      io.out(b.available ? `${b.name.padEnd(8)} ${b.version}  isa=${b.isa}  features=${(b.features ?? []).join(',')}` : `${b.name.padEnd(8)} unavailable: ${b.error}`);
    }
    return 0;
  },
};
