/**
 * writeFileAtomic(path, data): writes to a temporary file beside `path` and renames it over `path` once
 * complete, so `path` never holds a partial file (a crash or a full disk leaves the old file or none).
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

import { OctetError } from './errors.js';

/** Writes `data` to `path` through a temporary file and a rename. Throws OctetError ERR_OCTET_WRITE. */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new OctetError('ERR_OCTET_WRITE', `cannot write '${path}': ${(err as Error).message}`, { cause: err });
  }
}
