/**
 * External data: initializer bytes stored in files beside the model (data_location = EXTERNAL). Only files
 * inside the model's folder are read: a location with a `..` component, an absolute path, or a path whose
 * real path (symlinks resolved) leaves the folder is rejected with an OnnxError naming the tensor.
 */
import { closeSync, constants, fstatSync, openSync, readlinkSync, readSync, realpathSync, writeSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';

import type { ExternalDataInfo } from '../ir/tensor.js';
import { OnnxError } from './errors.js';

export function checkLocation(location: string, tensor: string): void {
  if (location === '') throw new OnnxError(`External data of tensor '${tensor}' has an empty location`, { tensor });
  if (location.includes('\0')) throw new OnnxError(`External data location of tensor '${tensor}' contains a NUL byte`, { tensor });
  if (isAbsolute(location) || /^[a-zA-Z]:[\\/]/.test(location) || location.startsWith('\\')) {
    throw new OnnxError(`External data location '${location}' of tensor '${tensor}' is an absolute path; only files inside the model's folder are read`, { tensor });
  }
  if (location.split(/[\\/]/).includes('..')) {
    throw new OnnxError(`External data location '${location}' of tensor '${tensor}' contains '..'; only files inside the model's folder are read`, { tensor });
  }
}

/** Reads external tensor bytes, opening each file once. */
export class ExternalDataReader {
  private readonly files = new Map<string, { fd: number; size: number }>();
  private realBase: string | undefined;

  constructor(private readonly baseDir: string | undefined) {}

  read(info: ExternalDataInfo, tensor: string, expectedLength: number): Uint8Array {
    checkLocation(info.location, tensor);
    if (this.baseDir === undefined) {
      throw new OnnxError(`Tensor '${tensor}' has external data ('${info.location}') but the model was loaded from bytes; pass options.baseDir`, { tensor });
    }
    const file = this.open(info.location, tensor);
    const length = info.length ?? expectedLength;
    if (length !== expectedLength) {
      throw new OnnxError(`External data of tensor '${tensor}' has length ${length} but its dtype and dims need ${expectedLength} bytes`, { tensor });
    }
    if (info.offset < 0 || info.offset + length > file.size) {
      throw new OnnxError(`External data of tensor '${tensor}' (offset ${info.offset}, length ${length}) lies beyond the end of '${info.location}' (${file.size} bytes)`, { tensor });
    }
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = readSync(file.fd, out, done, length - done, info.offset + done);
      if (n <= 0) throw new OnnxError(`Short read of external data of tensor '${tensor}' from '${info.location}'`, { tensor });
      done += n;
    }
    return out;
  }

  private open(location: string, tensor: string): { fd: number; size: number } {
    const cached = this.files.get(location);
    if (cached) return cached;
    const base = (this.realBase ??= realpathSync(this.baseDir as string));
    let real: string;
    try {
      real = realpathSync(join(base, location));
    } catch (err) {
      throw new OnnxError(`External data file '${location}' of tensor '${tensor}' cannot be opened: ${(err as Error).message}`, { tensor, cause: err });
    }
    const outside = (p: string): boolean => {
      const rel = relative(base, p);
      return rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel);
    };
    if (outside(real)) {
      throw new OnnxError(`External data file '${location}' of tensor '${tensor}' resolves outside the model's folder (symlink to '${real}')`, { tensor });
    }
    let fd: number;
    try {
      // Non-blocking: a FIFO planted in the folder must not stall the load (it is refused below, not a file).
      fd = openSync(real, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (err) {
      throw new OnnxError(`External data file '${location}' of tensor '${tensor}' cannot be opened: ${(err as Error).message}`, { tensor, cause: err });
    }
    // The file actually opened, not the path checked a moment ago: a symlink swapped in between (on Linux,
    // /proc/self/fd names the open file) is refused too.
    let opened = real;
    try {
      opened = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      // no /proc: the path check above stands alone
    }
    const stat = fstatSync(fd);
    if (outside(opened) || !stat.isFile()) {
      closeSync(fd);
      if (!stat.isFile()) throw new OnnxError(`External data location '${location}' of tensor '${tensor}' is not a regular file`, { tensor });
      throw new OnnxError(`External data file '${location}' of tensor '${tensor}' resolves outside the model's folder (opened '${opened}')`, { tensor });
    }
    const size = stat.size;
    const entry = { fd, size };
    this.files.set(location, entry);
    return entry;
  }

  close(): void {
    for (const { fd } of this.files.values()) closeSync(fd);
    this.files.clear();
  }
}

/** Appends tensor bytes to one external data file, aligned to `align` bytes. */
export class ExternalDataWriter {
  private offset = 0;
  private fd: number | undefined;

  constructor(
    private readonly path: string,
    readonly location: string,
    private readonly align = 4096,
  ) {}

  write(bytes: Uint8Array): { offset: number; length: number } {
    this.fd ??= openSync(this.path, 'w');
    const pad = (this.align - (this.offset % this.align)) % this.align;
    if (pad > 0) {
      writeSync(this.fd, new Uint8Array(pad), 0, pad, this.offset);
      this.offset += pad;
    }
    const offset = this.offset;
    let done = 0;
    while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done, offset + done);
    this.offset += bytes.length;
    return { offset, length: bytes.length };
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
