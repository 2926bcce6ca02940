/**
 * dist/bench.js: the benchmark core for bench/run.mjs, and, run as `node dist/bench.js --memory-child SPEC`, the
 * child process that measures one runtime's peak RSS alone (see memory.ts).
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { runMemoryChild, type MemorySpec } from './memory.js';

export * from './index.js';

function isEntryPoint(): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint() && process.argv[2] === '--memory-child') {
  runMemoryChild(JSON.parse(process.argv[3]) as MemorySpec).then(
    (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
    (err: unknown) => {
      process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
