/**
 * The data of a sensitivity analysis: what `analyzeSensitivity()` produces, what `octet analyze --json` prints
 * and what the HTML report (`renderReport()`) draws. One contract between the analysis, the mixed-precision
 * search, the CLI and the report.
 *
 * SQNR is 10·log10(Σ ref² / Σ (ref − test)²) in dB over all samples of the evaluation set (Infinity when the
 * two are equal, −Infinity is never produced: a zero reference gives a negative SQNR). MSE is the mean of
 * (ref − test)² over all elements of all samples.
 */

/** How far a tensor of the int8 model is from its fp32 twin. */
export interface ErrorStats {
  /** Signal-to-quantization-noise ratio in dB (higher is better). */
  sqnr: number;
  /** Mean squared error. */
  mse: number;
  /** Largest absolute difference over all elements of all samples. */
  maxAbsError: number;
}

/** One quantized node of the int8 model, compared with the fp32 model at the node's (float) output. */
export interface LayerSensitivity {
  /** Node name in the fp32 model (the quantizer keeps names). */
  node: string;
  opType: string;
  /** The float tensor compared (the node's output in the fp32 model). */
  tensor: string;
  /** Multiply-accumulates of the node per sample (Conv/ConvTranspose/Gemm/MatMul; 0 for other ops). */
  macs: number;
  /** The whole int8 model up to this point (errors of earlier layers included). */
  accumulated: ErrorStats;
  /** Only this node quantized (its inputs, weights and output through Q/DQ), everything else fp32. */
  isolated: ErrorStats;
}

/** A graph output of the int8 model compared with the fp32 model's. */
export interface OutputSensitivity extends ErrorStats {
  name: string;
}

/** Histograms of one tensor in fp32 and in int8 over the same bins, for the report's worst layers. */
export interface TensorHistogram {
  node: string;
  tensor: string;
  /** Lower and upper edge of the bins (shared by both histograms). */
  range: [number, number];
  /** Counts per bin, fp32 values. */
  fp32: number[];
  /** Counts per bin, int8 model's values (dequantized). */
  int8: number[];
}

/** One node of the int8 model's graph, as the report draws it. */
export interface GraphNodeSummary {
  name: string;
  opType: string;
  /** 'int8' for a node the quantizer quantized, 'fp32' for compute left in float, 'qdq' for a Q/DQ node, 'other'. */
  precision: 'int8' | 'fp32' | 'qdq' | 'other';
  inputs: string[];
  outputs: string[];
}

/** What a mixed-precision search decided (present when the report comes from `quantize({ targetSqnr })`). */
export interface MixedPrecisionSummary {
  /** The target the search aimed for (dB, worst graph output on the held-out samples), if one was given. */
  targetSqnr?: number;
  /** The cap on the fp32 share of MACs, if one was given. */
  maxFp32Fraction?: number;
  /** Whether the target was met within the cap. */
  met: boolean;
  /** Nodes kept in fp32, in the order the search chose them. */
  fp32Nodes: string[];
  /** Share of the model's MACs those nodes carry (0..1). */
  fp32MacFraction: number;
  /** Worst graph-output SQNR on the held-out samples before (all int8) and after the search. */
  before: number;
  after: number;
  /** Each step of the search: the node set tried and the worst output SQNR it gave. */
  steps: { fp32Nodes: string[]; sqnr: number }[];
}

export interface SensitivityReport {
  /** Where the two models came from (file names or labels). */
  models: { fp32: string; int8: string };
  /** Evaluation samples used. */
  samples: number;
  /** Every quantized node, worst isolated SQNR first. */
  layers: LayerSensitivity[];
  /** Every graph output. */
  outputs: OutputSensitivity[];
  /** fp32-vs-int8 histograms of the worst layers (a handful). */
  histograms: TensorHistogram[];
  /** The int8 model's nodes for the graph drawing. */
  graph: GraphNodeSummary[];
  /** Total MACs per sample of the model. */
  totalMacs: number;
  mixedPrecision?: MixedPrecisionSummary;
  /** Seconds the analysis took. */
  seconds: number;
}
