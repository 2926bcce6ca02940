/**
 * Latency statistics of one runtime at one batch size: median and p90 of the timed runs, and the throughput
 * they imply. The median of an even count is the mean of the two middle samples; p90 is the nearest-rank
 * percentile (the ceil(0.9·n)-th smallest sample), so p90 >= median always holds.
 */
import { invalidParameterError } from '../errors.js';

export interface LatencyStats {
  medianMs: number;
  p90Ms: number;
  minMs: number;
  meanMs: number;
  /** Inferences (samples) per second at the median: batch · 1000 / medianMs. */
  throughput: number;
  /** How many timed runs these come from. */
  runs: number;
}

export function latencyStats(samplesMs: readonly number[], batch: number): LatencyStats {
  if (!Array.isArray(samplesMs) || samplesMs.length === 0) throw invalidParameterError('samplesMs', 'non-empty Array of numbers', samplesMs);
  if (!Number.isInteger(batch) || batch < 1) throw invalidParameterError('batch', 'positive integer', batch, true);
  const s = [...samplesMs].sort((a, b) => a - b);
  const n = s.length;
  const medianMs = n % 2 === 1 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  const p90Ms = s[Math.ceil(0.9 * n) - 1];
  const meanMs = s.reduce((a, b) => a + b, 0) / n;
  return { medianMs, p90Ms, minMs: s[0], meanMs, throughput: (batch * 1000) / medianMs, runs: n };
}

/** How much faster octet is: the peer's time over octet's (> 1: octet is faster). */
export function speedup(peerMs: number, octetMs: number): number {
  return peerMs / octetMs;
}
