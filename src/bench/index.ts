/** The benchmark core shared by `octet bench` and `npm run bench` (bench/run.mjs imports the built dist/bench.js). */
export { benchmark, type BenchOptions, type BenchReport, type BatchResult, type RuntimeBatchResult } from './bench.js';
export { planInputs, batchSkipReason, inputData, dimsAt, type InputOverride, type InputPlan, type PlannedInput } from './inputs.js';
export { latencyStats, speedup, type LatencyStats } from './stats.js';
export { importPeer, type RuntimeName } from './runtimes.js';
export { runMemoryChild, type MemoryResult, type MemorySpec } from './memory.js';
