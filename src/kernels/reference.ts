/**
 * Scalar reference kernels: the test oracle for the vendor kernels. Written for clarity, not speed, in
 * float64 so that the only differences against a vendor kernel are the vendor's own float32 rounding.
 */

/** Round half to even, as ONNX QuantizeLinear and the vendors' requantization do. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  // Math.round rounds .5 up; move exact ties that landed on an odd number back down.
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export interface ReferenceFullyConnectedArgs {
  input: Int8Array | Uint8Array;
  batch: number;
  inputChannels: number;
  outputChannels: number;
  inputScale: number;
  inputZeroPoint: number;
  /** [outputChannels, inputChannels] row-major, symmetric (zero point 0). */
  weights: Int8Array;
  /** One scale, or one per output channel. */
  weightScales: ArrayLike<number>;
  bias?: Int32Array;
  outputScale: number;
  outputZeroPoint: number;
  outputMin: number;
  outputMax: number;
}

/**
 * y[m, n] = clamp(roundHalfEven(x_scale * w_scale[n] / y_scale * (Σ_k (x[m, k] − x_zp)·w[n, k] + bias[n])) + y_zp,
 *                 outputMin, outputMax)
 */
export function referenceFullyConnected(a: ReferenceFullyConnectedArgs): Int32Array {
  const { batch, inputChannels: K, outputChannels: N } = a;
  const out = new Int32Array(batch * N);
  for (let m = 0; m < batch; m++) {
    for (let n = 0; n < N; n++) {
      let acc = a.bias ? a.bias[n] : 0;
      for (let k = 0; k < K; k++) acc += (a.input[m * K + k] - a.inputZeroPoint) * a.weights[n * K + k];
      const ws = a.weightScales.length === 1 ? a.weightScales[0] : a.weightScales[n];
      const multiplier = (a.inputScale * ws) / a.outputScale;
      const q = roundHalfEven(acc * multiplier) + a.outputZeroPoint;
      out[m * N + n] = Math.min(a.outputMax, Math.max(a.outputMin, q));
    }
  }
  return out;
}
