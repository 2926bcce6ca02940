/** Calibration observers: streaming range estimators over activations. */
export { CALIBRATION_METHODS, type CalibrationMethod, type CalibrationRange, type Observer } from './observer.js';
export { MinMaxObserver, type MinMaxObserverOptions } from './minmax.js';
export { DEFAULT_BINS, Histogram, HistogramObserver, type HistogramMode, type HistogramSnapshot } from './histogram.js';
export { EntropyObserver, type EntropyObserverOptions } from './entropy.js';
export { DEFAULT_PERCENTILE, PercentileObserver, quantile, type PercentileObserverOptions } from './percentile.js';
export { MseObserver, type MseObserverOptions } from './mse.js';
export { createObserver, type ObserverByMethod, type ObserverOptionsByMethod } from './create.js';
export { createProgress, type Progress, type ProgressOptions, type ProgressStream } from './progress.js';
