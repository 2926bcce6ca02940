/**
 * A one-line progress bar on stderr for long calibration runs:
 *
 *   calibrating ████████████░░░░░░░░░░░░  48/100  48%  0:07
 *
 * Drawn only when the stream is a TTY; silent when it is not (pipes, log files), when the environment says CI
 * (`CI`), when `TERM=dumb`, when `OCTET_QUIET` is set, or with `{ quiet: true }`. No colours are used, so
 * NO_COLOR needs nothing more. Redraws at most every `intervalMs` (default 100 ms).
 */
import { invalidParameterError } from '../errors.js';

export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(chunk: string): unknown;
}

export interface ProgressOptions {
  /** Default process.stderr. */
  stream?: ProgressStream;
  /** Default process.env. */
  env?: Record<string, string | undefined>;
  quiet?: boolean;
  intervalMs?: number;
  /** Clock in ms; default Date.now (tests pass their own). */
  now?: () => number;
}

export interface Progress {
  /** Whether anything is drawn. */
  readonly enabled: boolean;
  /** Advances by n (default 1) and redraws when due. */
  tick(n?: number): void;
  /** Draws the final state and ends the line. Further ticks are ignored. */
  done(): void;
}

function isSet(v: string | undefined): boolean {
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

export function createProgress(total: number, label: string, options: ProgressOptions = {}): Progress {
  if (typeof total !== 'number') throw invalidParameterError('total', 'non-negative integer', total);
  if (!Number.isInteger(total) || total < 0) throw invalidParameterError('total', 'non-negative integer', total, true);
  if (typeof label !== 'string') throw invalidParameterError('label', 'string', label);
  const stream = options.stream ?? process.stderr;
  const env = options.env ?? process.env;
  const now = options.now ?? Date.now;
  const interval = options.intervalMs ?? 100;
  const enabled =
    stream.isTTY === true && options.quiet !== true && !isSet(env.CI) && !isSet(env.OCTET_QUIET) && env.TERM !== 'dumb';
  const start = now();
  let current = 0;
  let lastDraw = -Infinity;
  let finished = false;

  const draw = (): void => {
    // columns is 0 where the terminal size is unknown (a pty without a size): take 80.
    const width = Math.max(20, (stream.columns || 80) - 1);
    const frac = total === 0 ? 1 : Math.min(1, current / total);
    const secs = Math.floor((now() - start) / 1000);
    const time = `${Math.floor(secs / 60)}:${String(secs % 60).padStart(2, '0')}`;
    const tail = ` ${String(current).padStart(String(total).length)}/${total} ${String(Math.floor(frac * 100)).padStart(3)}% ${time}`;
    const barWidth = Math.max(0, width - label.length - tail.length - 1);
    const filled = Math.round(frac * barWidth);
    const line = `${label} ${'█'.repeat(filled)}${'░'.repeat(barWidth - filled)}${tail}`;
    stream.write(`\r${line.slice(0, width)}\x1b[K`);
  };

  return {
    enabled,
    tick(n = 1): void {
      if (finished) return;
      current += n;
      if (!enabled) return;
      const t = now();
      if (t - lastDraw >= interval || current >= total) {
        lastDraw = t;
        draw();
      }
    },
    done(): void {
      if (finished) return;
      finished = true;
      if (!enabled) return;
      draw();
      stream.write('\n');
    },
  };
}
