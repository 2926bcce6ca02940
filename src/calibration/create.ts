/**
 * createObserver(method, options): the one entry point calibration uses, with the method's options checked
 * (types, ranges, and misspelled names: "Unknown option 'bin' in entropy options; did you mean 'bins'?").
 */
import { expectKnownKeys, expectObject, expectOneOf } from '../validate.js';
import { ENTROPY_OPTION_KEYS, EntropyObserver, type EntropyObserverOptions } from './entropy.js';
import { MINMAX_OPTION_KEYS, MinMaxObserver, type MinMaxObserverOptions } from './minmax.js';
import { MSE_OPTION_KEYS, MseObserver, type MseObserverOptions } from './mse.js';
import { CALIBRATION_METHODS, type CalibrationMethod, type Observer } from './observer.js';
import { PERCENTILE_OPTION_KEYS, PercentileObserver, type PercentileObserverOptions } from './percentile.js';

export interface ObserverOptionsByMethod {
  minmax: MinMaxObserverOptions;
  entropy: EntropyObserverOptions;
  percentile: PercentileObserverOptions;
  mse: MseObserverOptions;
}

export interface ObserverByMethod {
  minmax: MinMaxObserver;
  entropy: EntropyObserver;
  percentile: PercentileObserver;
  mse: MseObserver;
}

const KEYS: Record<CalibrationMethod, readonly string[]> = {
  minmax: MINMAX_OPTION_KEYS,
  entropy: ENTROPY_OPTION_KEYS,
  percentile: PERCENTILE_OPTION_KEYS,
  mse: MSE_OPTION_KEYS,
};

export function createObserver<M extends CalibrationMethod>(method: M, options?: ObserverOptionsByMethod[M]): ObserverByMethod[M];
export function createObserver(method: CalibrationMethod, options: Record<string, unknown> = {}): Observer {
  expectOneOf('method', method, CALIBRATION_METHODS);
  expectObject('options', options);
  expectKnownKeys(`${method} options`, options, KEYS[method]);
  switch (method) {
    case 'minmax':
      return new MinMaxObserver(options);
    case 'entropy':
      return new EntropyObserver(options);
    case 'percentile':
      return new PercentileObserver(options);
    case 'mse':
      return new MseObserver(options);
  }
}
