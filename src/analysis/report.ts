/**
 * renderReport(report, options) → one self-contained HTML page of a sensitivity analysis; writeReport(report,
 * path, options) writes it atomically.
 *
 * The page has no external resources (inline CSS, inline SVG drawn here, a few lines of inline script for
 * sorting the table), so it opens offline and can be attached to a ticket. Sections:
 *   summary (models, samples, MACs, worst output and layer) · graph outputs · mixed-precision decision ·
 *   per-layer SQNR bar chart (isolated and accumulated, worst first) · fp32-vs-int8 histograms of the worst
 *   layers · the int8 model's graph, nodes coloured by precision (layered top-down, Q/DQ folded into edges) ·
 *   the table of every layer, sortable by any column.
 *
 * Every string that comes from the model (node, tensor and model names) is escaped. SQNR is shown as "∞" when
 * the int8 value equals the fp32 one, and "n/a" for NaN or null (JSON.stringify turns Infinity and NaN into
 * null, so a report read back from `octet analyze --json` renders too). renderReport does no I/O.
 */
import { invalidParameterError } from '../errors.js';
import { expectKnownKeys, expectObject, isPlainObject } from '../validate.js';
import { writeFileAtomic } from '../write-file-atomic.js';
import type { ErrorStats, GraphNodeSummary, LayerSensitivity, MixedPrecisionSummary, SensitivityReport, TensorHistogram } from './types.js';

export interface ReportOptions {
  /** Page title. Default: "Quantization sensitivity: <int8 model>". */
  title?: string;
  /** How many layers the SQNR bar chart draws, worst first (default 100; the table always lists every layer). */
  chartLayers?: number;
  /** Draw QuantizeLinear/DequantizeLinear nodes in the graph (default false: edges pass through them). */
  showQdq?: boolean;
}

const OPTION_KEYS = ['title', 'chartLayers', 'showQdq'] as const;
const PRECISIONS = ['int8', 'fp32', 'qdq', 'other'] as const;

// Okabe–Ito colours: distinguishable with the common colour-vision deficiencies.
const C = {
  blue: '#0072B2',
  orange: '#E69F00',
  vermillion: '#D55E00',
  sky: '#56B4E9',
  green: '#009E73',
  grey: '#6b7280',
};

// ---------------------------------------------------------------------------------------------------------
// Validation: the report may come from JSON, so check what the drawing relies on and name what is wrong.

function expectString(name: string, v: unknown): string {
  if (typeof v !== 'string') throw invalidParameterError(name, 'string', v);
  return v;
}

function expectNumber(name: string, v: unknown): number {
  if (typeof v !== 'number') throw invalidParameterError(name, 'number', v);
  return v;
}

/** A metric: a number, or null where JSON turned Infinity/NaN into null. */
function expectMetric(name: string, v: unknown): void {
  if (v !== null && typeof v !== 'number') throw invalidParameterError(name, 'number or null', v);
}

function expectArray(name: string, v: unknown): unknown[] {
  if (!Array.isArray(v)) throw invalidParameterError(name, 'array', v);
  return v;
}

function expectStrings(name: string, v: unknown): void {
  expectArray(name, v).forEach((s, i) => expectString(`${name}[${i}]`, s));
}

function expectStats(name: string, v: unknown): void {
  expectObject(name, v);
  for (const k of ['sqnr', 'mse', 'maxAbsError'] as const) expectMetric(`${name}.${k}`, v[k]);
}

function validateReport(report: unknown): asserts report is SensitivityReport {
  if (!isPlainObject(report)) throw invalidParameterError('report', 'SensitivityReport object', report);
  expectObject('report.models', report.models);
  expectString('report.models.fp32', report.models.fp32);
  expectString('report.models.int8', report.models.int8);
  expectNumber('report.samples', report.samples);
  expectNumber('report.totalMacs', report.totalMacs);
  expectNumber('report.seconds', report.seconds);
  expectArray('report.layers', report.layers).forEach((l, i) => {
    const n = `report.layers[${i}]`;
    expectObject(n, l);
    expectString(`${n}.node`, l.node);
    expectString(`${n}.opType`, l.opType);
    expectString(`${n}.tensor`, l.tensor);
    expectNumber(`${n}.macs`, l.macs);
    expectStats(`${n}.accumulated`, l.accumulated);
    expectStats(`${n}.isolated`, l.isolated);
  });
  expectArray('report.outputs', report.outputs).forEach((o, i) => {
    expectStats(`report.outputs[${i}]`, o);
    expectString(`report.outputs[${i}].name`, (o as Record<string, unknown>).name);
  });
  expectArray('report.histograms', report.histograms).forEach((h, i) => {
    const n = `report.histograms[${i}]`;
    expectObject(n, h);
    expectString(`${n}.node`, h.node);
    expectString(`${n}.tensor`, h.tensor);
    const r = h.range;
    if (!Array.isArray(r) || r.length !== 2 || typeof r[0] !== 'number' || typeof r[1] !== 'number') {
      throw invalidParameterError(`${n}.range`, '[number, number]', r);
    }
    for (const k of ['fp32', 'int8'] as const) {
      expectArray(`${n}.${k}`, h[k]).forEach((c, j) => expectNumber(`${n}.${k}[${j}]`, c));
    }
    if ((h.fp32 as number[]).length !== (h.int8 as number[]).length) {
      throw invalidParameterError(`${n}.int8`, `array of length ${(h.fp32 as number[]).length} (as ${n}.fp32)`, h.int8, true);
    }
  });
  expectArray('report.graph', report.graph).forEach((g, i) => {
    const n = `report.graph[${i}]`;
    expectObject(n, g);
    expectString(`${n}.name`, g.name);
    expectString(`${n}.opType`, g.opType);
    if (!PRECISIONS.includes(g.precision as never)) {
      throw invalidParameterError(`${n}.precision`, `one of ${PRECISIONS.map((p) => `'${p}'`).join(', ')}`, g.precision, typeof g.precision === 'string');
    }
    expectStrings(`${n}.inputs`, g.inputs);
    expectStrings(`${n}.outputs`, g.outputs);
  });
  const mp = report.mixedPrecision;
  if (mp !== undefined) {
    const n = 'report.mixedPrecision';
    expectObject(n, mp);
    if (typeof mp.met !== 'boolean') throw invalidParameterError(`${n}.met`, 'boolean', mp.met);
    expectStrings(`${n}.fp32Nodes`, mp.fp32Nodes);
    expectNumber(`${n}.fp32MacFraction`, mp.fp32MacFraction);
    expectMetric(`${n}.before`, mp.before);
    expectMetric(`${n}.after`, mp.after);
    if (mp.targetSqnr !== undefined) expectNumber(`${n}.targetSqnr`, mp.targetSqnr);
    if (mp.maxFp32Fraction !== undefined) expectNumber(`${n}.maxFp32Fraction`, mp.maxFp32Fraction);
    expectArray(`${n}.steps`, mp.steps).forEach((s, i) => {
      expectObject(`${n}.steps[${i}]`, s);
      expectStrings(`${n}.steps[${i}].fp32Nodes`, s.fp32Nodes);
      expectMetric(`${n}.steps[${i}].sqnr`, s.sqnr);
    });
  }
}

function validateOptions(options: unknown): Required<Omit<ReportOptions, 'title'>> & { title?: string } {
  if (options === undefined) return { chartLayers: 100, showQdq: false };
  expectObject('options', options);
  expectKnownKeys('options', options, OPTION_KEYS);
  const o = options as ReportOptions;
  if (o.title !== undefined) expectString('options.title', o.title);
  if (o.chartLayers !== undefined) {
    if (typeof o.chartLayers !== 'number') throw invalidParameterError('options.chartLayers', 'positive integer', o.chartLayers);
    if (!Number.isInteger(o.chartLayers) || o.chartLayers < 1) throw invalidParameterError('options.chartLayers', 'positive integer', o.chartLayers, true);
  }
  if (o.showQdq !== undefined && typeof o.showQdq !== 'boolean') throw invalidParameterError('options.showQdq', 'boolean', o.showQdq);
  return { title: o.title, chartLayers: o.chartLayers ?? 100, showQdq: o.showQdq ?? false };
}

// ---------------------------------------------------------------------------------------------------------
// Formatting.

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML/SVG text and attribute values (always quoted with "). */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

const esc = escapeHtml;

function isNum(v: number | null | undefined): v is number {
  return typeof v === 'number' && !Number.isNaN(v);
}

/** SQNR in dB: "23.4", "∞" (identical), "−∞", "n/a" (NaN or missing). */
function fmtDb(v: number | null | undefined): string {
  if (!isNum(v)) return 'n/a';
  if (v === Infinity) return '∞';
  if (v === -Infinity) return '−∞';
  return v.toFixed(1).replace('-', '−');
}

function fmtDbUnit(v: number | null | undefined): string {
  const s = fmtDb(v);
  return s === 'n/a' ? s : `${s} dB`;
}

/** A positive quantity with three significant digits: 0.000123 → "1.23e−4". */
function fmtSci(v: number | null | undefined): string {
  if (!isNum(v)) return 'n/a';
  if (v === 0) return '0';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '−∞';
  const a = Math.abs(v);
  const s = a >= 1e-3 && a < 1e5 ? String(Number(v.toPrecision(3))) : v.toExponential(2).replace('e+', 'e').replace('e-', 'e−');
  return s.replace(/^-/, '−');
}

function fmtMacs(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const units: [number, string][] = [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'K'],
  ];
  for (const [scale, unit] of units) if (Math.abs(v) >= scale) return `${Number((v / scale).toPrecision(3))}${unit}`;
  return String(v);
}

function fmtPercent(f: number): string {
  if (!Number.isFinite(f)) return 'n/a';
  const p = f * 100;
  if (p > 0 && p < 0.1) return '<0.1%';
  return `${p === 0 || p >= 10 ? p.toFixed(0) : p.toFixed(1)}%`;
}

/** The value a sortable cell sorts by: numbers as written by String (Infinity too), NaN/null as "NaN". */
function sortKey(v: number | null | undefined): string {
  return isNum(v) ? String(v) : 'NaN';
}

/** Shortens a string for an SVG label (full text goes into a <title>). */
function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** Worst first: ascending SQNR, NaN/missing last. */
function byWorst(a: number | null, b: number | null): number {
  const x = isNum(a) ? a : Infinity;
  const y = isNum(b) ? b : Infinity;
  if (x !== y) return x < y ? -1 : 1;
  return (isNum(a) ? 0 : 1) - (isNum(b) ? 0 : 1);
}

// ---------------------------------------------------------------------------------------------------------
// Sections.

function summarySection(r: SensitivityReport, title: string): string {
  const worstOut = [...r.outputs].sort((a, b) => byWorst(a.sqnr, b.sqnr))[0];
  const worstLayer = [...r.layers].sort((a, b) => byWorst(a.isolated.sqnr, b.isolated.sqnr))[0];
  const cards: string[] = [];
  const card = (label: string, value: string, sub = ''): string =>
    `<div class="card"><div class="label">${label}</div><div class="value">${value}</div>${sub ? `<div class="sub">${sub}</div>` : ''}</div>`;
  cards.push(card('Worst output SQNR', worstOut ? esc(fmtDbUnit(worstOut.sqnr)) : 'n/a', worstOut ? `<code>${esc(worstOut.name)}</code>` : 'no outputs'));
  cards.push(
    card(
      'Worst layer (isolated)',
      worstLayer ? esc(fmtDbUnit(worstLayer.isolated.sqnr)) : 'n/a',
      worstLayer ? `<code>${esc(worstLayer.node)}</code> ${esc(worstLayer.opType)}` : 'no layers',
    ),
  );
  cards.push(card('Quantized layers', String(r.layers.length), `${r.graph.length} nodes in the int8 graph`));
  cards.push(card('MACs per sample', esc(fmtMacs(r.totalMacs)), `${r.samples} evaluation sample${r.samples === 1 ? '' : 's'}`));
  if (r.mixedPrecision) {
    const mp = r.mixedPrecision;
    cards.push(
      card(
        'Mixed precision',
        `${esc(fmtDb(mp.before))} → ${esc(fmtDbUnit(mp.after))}`,
        `${mp.fp32Nodes.length} node${mp.fp32Nodes.length === 1 ? '' : 's'} in fp32, ${fmtPercent(mp.fp32MacFraction)} of MACs`,
      ),
    );
  }
  return `<header>
<h1>${esc(title)}</h1>
<p class="models"><span>fp32</span> <code>${esc(r.models.fp32)}</code> <span>int8</span> <code>${esc(r.models.int8)}</code> <span class="muted">analysed in ${esc(r.seconds.toFixed(1))} s</span></p>
</header>
<section class="cards">${cards.join('')}</section>`;
}

function outputsSection(r: SensitivityReport): string {
  if (r.outputs.length === 0) return '';
  const rows = r.outputs
    .map(
      (o) =>
        `<tr><td><code>${esc(o.name)}</code></td><td class="num">${esc(fmtDbUnit(o.sqnr))}</td><td class="num">${esc(fmtSci(o.mse))}</td><td class="num">${esc(fmtSci(o.maxAbsError))}</td></tr>`,
    )
    .join('');
  return `<section id="outputs"><h2>Graph outputs</h2>
<p class="note">Each output of the int8 model against the fp32 model over the ${r.samples} evaluation sample${r.samples === 1 ? '' : 's'}. SQNR = 10·log10(Σ ref² / Σ (ref − int8)²); higher is better, ∞ when identical.</p>
<table class="data"><thead><tr><th>Output</th><th class="num">SQNR</th><th class="num">MSE</th><th class="num">Max abs error</th></tr></thead><tbody>${rows}</tbody></table>
</section>`;
}

function mixedPrecisionSection(mp: MixedPrecisionSummary | undefined, r: SensitivityReport): string {
  if (!mp) return '';
  const facts: string[] = [];
  if (mp.targetSqnr !== undefined) facts.push(`<dt>Target</dt><dd>${esc(fmtDbUnit(mp.targetSqnr))} (worst output, held-out samples)</dd>`);
  if (mp.maxFp32Fraction !== undefined) facts.push(`<dt>fp32 MAC cap</dt><dd>${esc(fmtPercent(mp.maxFp32Fraction))}</dd>`);
  facts.push(`<dt>Outcome</dt><dd><span class="badge ${mp.met ? 'ok' : 'bad'}">${mp.met ? 'target met' : 'target not met'}</span></dd>`);
  facts.push(`<dt>Worst output SQNR</dt><dd>${esc(fmtDbUnit(mp.before))} all int8 → ${esc(fmtDbUnit(mp.after))} after</dd>`);
  facts.push(`<dt>fp32 share of MACs</dt><dd>${esc(fmtPercent(mp.fp32MacFraction))} (${esc(fmtMacs(mp.fp32MacFraction * r.totalMacs))} of ${esc(fmtMacs(r.totalMacs))})</dd>`);
  const ops = new Map(r.graph.map((g) => [g.name, g.opType]));
  const nodes = mp.fp32Nodes.length
    ? `<ol class="fp32-nodes">${mp.fp32Nodes.map((n) => `<li><code>${esc(n)}</code> <span class="muted">${esc(ops.get(n) ?? '')}</span></li>`).join('')}</ol>`
    : '<p class="muted">No node kept in fp32.</p>';
  const steps = mp.steps.length
    ? `<details><summary>Search steps (${mp.steps.length})</summary><table class="data"><thead><tr><th class="num">Step</th><th class="num">fp32 nodes</th><th class="num">Worst output SQNR</th><th>Last added</th></tr></thead><tbody>${mp.steps
        .map(
          (s, i) =>
            `<tr><td class="num">${i + 1}</td><td class="num">${s.fp32Nodes.length}</td><td class="num">${esc(fmtDbUnit(s.sqnr))}</td><td><code>${esc(s.fp32Nodes[s.fp32Nodes.length - 1] ?? '—')}</code></td></tr>`,
        )
        .join('')}</tbody></table></details>`
    : '';
  return `<section id="mixed-precision"><h2>Mixed precision</h2>
<div class="split"><dl class="facts">${facts.join('')}</dl><div><h3>Kept in fp32, in the order chosen</h3>${nodes}</div></div>${steps}
</section>`;
}

/** Nice tick step for a range: 1, 2 or 5 times a power of ten, about `count` ticks. */
function niceStep(span: number, count: number): number {
  const raw = span / Math.max(1, count);
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

function chartSection(r: SensitivityReport, limit: number, fp32Nodes: Set<string>): string {
  const n = r.layers.length;
  if (n === 0) return `<section id="chart"><h2>Per-layer SQNR</h2><p class="muted">No quantized layers.</p></section>`;
  const layers = [...r.layers].sort((a, b) => byWorst(a.isolated.sqnr, b.isolated.sqnr) || byWorst(a.accumulated.sqnr, b.accumulated.sqnr)).slice(0, limit);
  const finite = layers.flatMap((l) => [l.isolated.sqnr, l.accumulated.sqnr]).filter((v): v is number => isNum(v) && Number.isFinite(v));
  let lo = Math.min(0, ...finite);
  let hi = Math.max(10, ...finite);
  const step = niceStep(hi - lo, 8);
  lo = Math.floor(lo / step) * step;
  hi = Math.ceil(hi / step) * step;
  const labelW = 340;
  const plotW = 600;
  const infW = 34; // room right of `hi` for bars of infinite SQNR
  const valueW = 120;
  const width = labelW + plotW + infW + valueW;
  const rowH = 24;
  const x = (v: number): number => labelW + ((Math.max(lo, Math.min(hi, v)) - lo) / (hi - lo)) * plotW;
  const ticks: number[] = [];
  for (let t = lo; t <= hi + step / 2; t += step) ticks.push(Number(t.toFixed(6)));
  const tick = (t: number): string => (step >= 1 ? t.toFixed(0) : fmtDb(t)).replace('-', '−');

  const axis = [`<svg class="chart-axis" width="${width}" height="34" viewBox="0 0 ${width} 34" role="img" aria-label="SQNR axis in dB">`];
  axis.push(`<text x="8" y="26" class="axis-title">op</text><text x="${labelW - 10}" y="26" text-anchor="end" class="axis-title">node (worst isolated SQNR first)</text>`);
  for (const t of ticks) axis.push(`<text x="${x(t).toFixed(1)}" y="26" text-anchor="middle" class="tick">${esc(tick(t))}</text>`);
  axis.push(`<text x="${(x(hi) + infW / 2 + 4).toFixed(1)}" y="26" text-anchor="middle" class="tick">∞</text>`);
  axis.push(`<text x="${labelW + plotW / 2}" y="12" text-anchor="middle" class="axis-title">SQNR (dB), higher is better</text>`);
  axis.push(`<text x="${labelW + plotW + infW + 8}" y="26" class="axis-title">isolated / accum.</text>`);
  axis.push(`<line x1="${labelW}" x2="${labelW + plotW + infW}" y1="33.5" y2="33.5" class="axis"/></svg>`);

  const h = layers.length * rowH + 6;
  const body = [`<svg class="chart" width="${width}" height="${h}" viewBox="0 0 ${width} ${h}" role="img" aria-label="Per-layer SQNR bars">`];
  body.push(`<defs><pattern id="inf-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/><line x1="0" y1="0" x2="0" y2="6" stroke="#9ca3af" stroke-width="3"/></pattern></defs>`);
  for (const t of ticks) body.push(`<line x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="0" y2="${h}" class="${t === 0 ? 'zero' : 'grid'}"/>`);
  body.push(`<rect x="${x(hi).toFixed(1)}" y="0" width="${infW}" height="${h}" fill="url(#inf-hatch)" opacity="0.35"/>`);
  const bar = (v: number | null, y: number, cls: string, label: string): string => {
    if (!isNum(v)) return `<text x="${x(lo) + 4}" y="${y + 7}" class="val">n/a</text>`;
    const x0 = x(Math.max(lo, Math.min(hi, 0)));
    const x1 = v === Infinity ? x(hi) + infW : x(v);
    const left = Math.min(x0, x1);
    const w = Math.max(1, Math.abs(x1 - x0));
    return `<rect class="bar ${cls}" x="${left.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="8"><title>${label}: ${esc(fmtDbUnit(v))}</title></rect>`;
  };
  layers.forEach((l, i) => {
    const y = i * rowH + 4;
    const kept = fp32Nodes.has(l.node);
    const tip = `<title>${esc(l.node)} (${esc(l.opType)})${kept ? ', kept in fp32' : ''}</title>`;
    const op = `<text x="8" y="${y + 12}" class="label op">${esc(clip(l.opType, 13))}</text>`;
    const name = `${kept ? '<tspan class="fp32-tag">fp32 </tspan>' : ''}${esc(clip(l.node, kept ? 24 : 29))}`;
    body.push(`<g class="row">${tip}${op}<text x="${labelW - 10}" y="${y + 12}" text-anchor="end" class="label">${name}</text></g>`);
    body.push(bar(l.isolated.sqnr, y + 1, 'iso', 'isolated'));
    body.push(bar(l.accumulated.sqnr, y + 10, 'acc', 'accumulated'));
    body.push(
      `<text x="${labelW + plotW + infW + 8}" y="${y + 12}" class="val"><tspan class="iso-t">${esc(fmtDb(l.isolated.sqnr))}</tspan> / <tspan class="acc-t">${esc(fmtDb(l.accumulated.sqnr))}</tspan></text>`,
    );
  });
  body.push('</svg>');
  const shown = layers.length < n ? `the ${layers.length} worst of ${n} layers (all are in the table below)` : `all ${n} layers`;
  return `<section id="chart"><h2>Per-layer SQNR</h2>
<p class="note">Showing ${shown}. <b>Isolated</b>: only this node quantized, the rest fp32, so it measures the node's own error. <b>Accumulated</b>: the whole int8 model up to this node, errors of earlier layers included. Hatched area: ∞ (no error).</p>
<div class="legend"><span><i class="swatch" style="background:${C.blue}"></i>isolated</span><span><i class="swatch" style="background:${C.orange}"></i>accumulated</span><span class="muted">numbers at right: isolated / accumulated dB</span></div>
<div class="chart-wrap">${axis.join('')}<div class="scroll chart-scroll">${body.join('')}</div></div>
</section>`;
}

function histogramSvg(h: TensorHistogram): string {
  const bins = h.fp32.length;
  const W = 440;
  const H = 190;
  const padL = 44;
  const padR = 12;
  const mid = 92;
  const half = 72;
  const plotW = W - padL - padR;
  const max = Math.max(1, ...h.fp32.filter(Number.isFinite), ...h.int8.filter(Number.isFinite));
  const s = (c: number): number => (Number.isFinite(c) && c > 0 ? Math.sqrt(c / max) * half : 0);
  const bw = plotW / Math.max(1, bins);
  const out = [`<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="fp32 and int8 histograms of ${esc(h.tensor)}">`];
  const up: string[] = [];
  const down: string[] = [];
  for (let i = 0; i < bins; i++) {
    const bx = (padL + i * bw).toFixed(2);
    const w = Math.max(0.5, bw - (bw > 3 ? 0.6 : 0)).toFixed(2);
    const a = s(h.fp32[i]);
    const b = s(h.int8[i]);
    if (a > 0) up.push(`M${bx} ${(mid - a).toFixed(2)}h${w}V${mid}h-${w}z`);
    if (b > 0) down.push(`M${bx} ${mid}h${w}V${(mid + b).toFixed(2)}h-${w}z`);
  }
  out.push(`<path class="h-fp32" d="${up.join('')}"/><path class="h-int8" d="${down.join('')}"/>`);
  out.push(`<line x1="${padL}" x2="${W - padR}" y1="${mid}" y2="${mid}" class="axis"/>`);
  out.push(`<text x="${padL - 6}" y="${mid - half + 9}" text-anchor="end" class="tick">fp32</text>`);
  out.push(`<text x="${padL - 6}" y="${mid + half}" text-anchor="end" class="tick">int8</text>`);
  const [lo, hi] = h.range;
  const xAt = (v: number): number => padL + ((v - lo) / (hi - lo)) * plotW;
  const labels: [number, string][] = [
    [padL, fmtSci(lo)],
    [W - padR, fmtSci(hi)],
  ];
  if (lo < 0 && hi > 0 && xAt(0) - padL > 40 && W - padR - xAt(0) > 40) labels.push([xAt(0), '0']);
  const y = H - 6;
  for (const [lx, text] of labels) {
    const anchor = lx === padL ? 'start' : lx === W - padR ? 'end' : 'middle';
    out.push(`<line x1="${lx.toFixed(1)}" x2="${lx.toFixed(1)}" y1="${mid + half + 2}" y2="${mid + half + 6}" class="axis"/><text x="${lx.toFixed(1)}" y="${y}" text-anchor="${anchor}" class="tick">${esc(text)}</text>`);
  }
  out.push('</svg>');
  return out.join('');
}

function histogramsSection(r: SensitivityReport): string {
  if (r.histograms.length === 0) return '';
  const byNode = new Map(r.layers.map((l) => [l.node, l]));
  const cards = r.histograms.map((h) => {
    const l = byNode.get(h.node);
    const stats = l ? `isolated ${esc(fmtDbUnit(l.isolated.sqnr))}, accumulated ${esc(fmtDbUnit(l.accumulated.sqnr))}` : '';
    return `<figure class="hist">${histogramSvg(h)}<figcaption><code title="${esc(h.node)}">${esc(clip(h.node, 48))}</code>${l ? ` <span class="muted">${esc(l.opType)}</span>` : ''}<br><span class="muted">tensor <code title="${esc(h.tensor)}">${esc(clip(h.tensor, 40))}</code>${stats ? ` · ${stats}` : ''}</span></figcaption></figure>`;
  });
  return `<section id="histograms"><h2>Value distributions of the worst layers</h2>
<p class="note">fp32 values above the line, the int8 model's (dequantized) values below, same bins over the range shown; bar height ∝ √count so that sparse tails stay visible. Gaps or spikes below the line that fp32 lacks show clipping or too coarse a scale.</p>
<div class="legend"><span><i class="swatch" style="background:${C.vermillion}"></i>fp32</span><span><i class="swatch" style="background:${C.blue}"></i>int8 (dequantized)</span></div>
<div class="hists">${cards.join('')}</div>
</section>`;
}

// ---------------------------------------------------------------------------------------------------------
// Graph layout: longest-path layering over the topological order, barycentre ordering, long edges routed
// through virtual points so they pass between boxes. Q/DQ nodes are folded into the edges unless asked for.

interface LayoutItem {
  /** Index into the visible nodes, or -1 for a virtual point of a long edge. */
  node: number;
  layer: number;
  width: number;
  x: number;
  /** Neighbours in the layer above / below (item indices), for ordering and placement. */
  up: number[];
  down: number[];
}

interface Layout {
  items: LayoutItem[];
  /** Each edge as a chain of item indices, top to bottom. */
  chains: number[][];
  width: number;
  height: number;
  rowY: (layer: number) => number;
}

const NODE_W = 200;
const NODE_H = 38;
const VIRTUAL_W = 10;
const GAP_X = 18;
const ROW_GAP = 26;
const MARGIN = 16;
/** At most this many virtual points in all: past it, the longest edges are drawn straight. */
const VIRTUAL_BUDGET = 20000;

function layoutGraph(nodes: GraphNodeSummary[], edges: [number, number][]): Layout {
  const n = nodes.length;
  const preds: number[][] = Array.from({ length: n }, () => []);
  const succs: number[][] = Array.from({ length: n }, () => []);
  for (const [a, b] of edges) {
    preds[b].push(a);
    succs[a].push(b);
  }
  // Kahn's topological order, ties in the given order; a cycle (not valid ONNX) falls back to the given order.
  const indeg = preds.map((p) => p.length);
  const order: number[] = [];
  const ready: number[] = [];
  for (let i = 0; i < n; i++) if (indeg[i] === 0) ready.push(i);
  const placed = new Uint8Array(n);
  for (let head = 0; order.length < n; ) {
    if (head === ready.length) {
      const rest = placed.findIndex((p) => p === 0);
      ready.push(rest);
      indeg[rest] = 0;
    }
    const v = ready[head++];
    if (placed[v]) continue;
    placed[v] = 1;
    order.push(v);
    for (const s of succs[v]) if (--indeg[s] === 0 && !placed[s]) ready.push(s);
  }
  const rank = new Int32Array(n);
  order.forEach((v, i) => (rank[v] = i));
  const layer = new Int32Array(n);
  for (const v of order) for (const p of preds[v]) if (rank[p] < rank[v]) layer[v] = Math.max(layer[v], layer[p] + 1);

  const items: LayoutItem[] = order.map((v) => ({ node: v, layer: layer[v], width: NODE_W, x: 0, up: [], down: [] }));
  const itemOf = new Int32Array(n);
  order.forEach((v, i) => (itemOf[v] = i));
  const chains: number[][] = [];
  let budget = VIRTUAL_BUDGET;
  const sorted = edges
    .filter(([a, b]) => rank[a] < rank[b])
    .map(([a, b]) => [a, b, layer[b] - layer[a]] as const)
    .sort((e, f) => e[2] - f[2]);
  for (const [a, b, span] of sorted) {
    const chain = [itemOf[a]];
    if (span - 1 <= budget) {
      budget -= span - 1;
      for (let l = layer[a] + 1; l < layer[b]; l++) {
        items.push({ node: -1, layer: l, width: VIRTUAL_W, x: 0, up: [], down: [] });
        chain.push(items.length - 1);
      }
    }
    chain.push(itemOf[b]);
    chains.push(chain);
    if (chain.length === 2 && span > 1) continue; // drawn straight, not used for ordering
    for (let k = 1; k < chain.length; k++) {
      items[chain[k]].up.push(chain[k - 1]);
      items[chain[k - 1]].down.push(chain[k]);
    }
  }

  const layers: number[][] = [];
  items.forEach((it, i) => (layers[it.layer] ??= []).push(i));
  for (let l = 0; l < layers.length; l++) layers[l] ??= [];
  // Barycentre ordering: a few sweeps down and up, each layer sorted by its neighbours' mean position.
  const pos = new Float64Array(items.length);
  const setPos = (l: number): void => layers[l].forEach((it, i) => (pos[it] = i));
  layers.forEach((_, l) => setPos(l));
  const sweep = (l: number, key: 'up' | 'down'): void => {
    const bary = new Map<number, number>();
    for (const it of layers[l]) {
      const nb = items[it][key];
      bary.set(it, nb.length ? nb.reduce((s, j) => s + pos[j], 0) / nb.length : pos[it]);
    }
    layers[l].sort((p, q) => bary.get(p)! - bary.get(q)! || pos[p] - pos[q]);
    setPos(l);
  };
  for (let pass = 0; pass < 4; pass++) {
    for (let l = 1; l < layers.length; l++) sweep(l, 'up');
    for (let l = layers.length - 2; l >= 0; l--) sweep(l, 'down');
  }
  // Coordinates: each item wants to sit at the mean centre of its neighbours in the row above (down passes) or
  // below (up passes); placeRow keeps the order and spacing and moves items as little as it can.
  const centre = (it: number): number => items[it].x + items[it].width / 2;
  for (const row of layers) {
    let at = -row.reduce((s, it) => s + items[it].width + GAP_X, 0) / 2;
    for (const it of row) {
      items[it].x = at;
      at += items[it].width + GAP_X;
    }
  }
  const place = (l: number, key: 'up' | 'down'): void => {
    const row = layers[l];
    const want = row.map((it) => {
      const nb = items[it][key];
      return nb.length ? nb.reduce((s, j) => s + centre(j), 0) / nb.length - items[it].width / 2 : items[it].x;
    });
    const xs = placeRow(
      row.map((it) => items[it].width + GAP_X),
      want,
    );
    row.forEach((it, i) => (items[it].x = xs[i]));
  };
  for (let pass = 0; pass < 3; pass++) {
    if (pass % 2 === 0) for (let l = 1; l < layers.length; l++) place(l, 'up');
    else for (let l = layers.length - 2; l >= 0; l--) place(l, 'down');
  }
  const minX = Math.min(...items.map((it) => it.x));
  let maxX = 0;
  for (const it of items) {
    it.x += MARGIN - minX;
    maxX = Math.max(maxX, it.x + it.width);
  }
  const rowY = (l: number): number => MARGIN + l * (NODE_H + ROW_GAP);
  return { items, chains, width: Math.ceil(maxX + MARGIN), height: rowY(layers.length) - ROW_GAP + MARGIN, rowY };
}

/**
 * Positions for a row of items in a fixed order, item i at least `space[i-1]` right of item i−1, as close as
 * possible (least squares) to the wanted positions: blocks of touching items sit at the mean of what their
 * members want, merged left to right while they overlap.
 */
function placeRow(space: number[], want: number[]): number[] {
  const blocks: { first: number; count: number; sum: number; span: number }[] = [];
  for (let i = 0; i < want.length; i++) {
    let b = { first: i, count: 1, sum: want[i], span: space[i] };
    for (;;) {
      const p = blocks[blocks.length - 1];
      if (!p || p.sum / p.count + p.span <= b.sum / b.count) break;
      blocks.pop();
      // b's items move behind p's: each of them is p.span further from the merged block's start.
      b = { first: p.first, count: p.count + b.count, sum: p.sum + b.sum - b.count * p.span, span: p.span + b.span };
    }
    blocks.push(b);
  }
  const xs = new Array<number>(want.length);
  for (const b of blocks) {
    let x = b.sum / b.count;
    for (let i = b.first; i < b.first + b.count; i++) {
      xs[i] = x;
      x += space[i];
    }
  }
  return xs;
}

function graphSection(r: SensitivityReport, showQdq: boolean, fp32Nodes: Set<string>): string {
  const all = r.graph;
  if (all.length === 0) return '';
  const hidden = (g: GraphNodeSummary): boolean => !showQdq && g.precision === 'qdq';
  const visible: number[] = [];
  const visibleIndex = new Int32Array(all.length).fill(-1);
  all.forEach((g, i) => {
    if (!hidden(g)) {
      visibleIndex[i] = visible.length;
      visible.push(i);
    }
  });
  const producer = new Map<string, number>();
  all.forEach((g, i) => g.outputs.forEach((t) => producer.set(t, i)));
  // The visible node a tensor comes from, looking through hidden Q/DQ nodes (their data input is the first).
  const source = new Map<string, number>();
  const resolve = (t: string): number => {
    const seen = new Set<string>();
    let cur = t;
    for (;;) {
      const known = source.get(cur);
      if (known !== undefined) return known;
      const p = producer.get(cur);
      if (p === undefined || seen.has(cur)) return -1;
      seen.add(cur);
      if (!hidden(all[p])) return visibleIndex[p];
      if (all[p].inputs.length === 0 || all[p].inputs[0] === '') return -1;
      cur = all[p].inputs[0];
    }
  };
  const edgeSet = new Set<string>();
  const edges: [number, number][] = [];
  for (const i of visible) {
    for (const t of all[i].inputs) {
      if (t === '') continue;
      let s = source.get(t);
      if (s === undefined) {
        s = resolve(t);
        source.set(t, s);
      }
      const d = visibleIndex[i];
      if (s < 0 || s === d || edgeSet.has(`${s},${d}`)) continue;
      edgeSet.add(`${s},${d}`);
      edges.push([s, d]);
    }
  }
  const nodes = visible.map((i) => all[i]);
  const lay = layoutGraph(nodes, edges);
  const sqnr = new Map(r.layers.map((l) => [l.node, l]));
  const svg = [`<svg class="graph" width="${lay.width}" height="${lay.height}" viewBox="0 0 ${lay.width} ${lay.height}" role="img" aria-label="Model graph coloured by precision">`];
  svg.push(`<defs><marker id="arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" orient="auto"><path d="M0 0L8 4L0 8z" fill="#9ca3af"/></marker></defs>`);
  const paths: string[] = [];
  for (const chain of lay.chains) {
    const first = lay.items[chain[0]];
    const last = lay.items[chain[chain.length - 1]];
    const pts: [number, number][] = [[first.x + first.width / 2, lay.rowY(first.layer) + NODE_H]];
    for (let k = 1; k < chain.length - 1; k++) {
      const it = lay.items[chain[k]];
      const cx = it.x + it.width / 2;
      pts.push([cx, lay.rowY(it.layer)], [cx, lay.rowY(it.layer) + NODE_H]);
    }
    pts.push([last.x + last.width / 2, lay.rowY(last.layer)]);
    let d = `M${pts[0][0].toFixed(1)} ${pts[0][1]}`;
    for (let k = 1; k < pts.length; k++) {
      const [x0, y0] = pts[k - 1];
      const [x1, y1] = pts[k];
      if (x0 === x1 || k % 2 === 0) {
        d += `L${x1.toFixed(1)} ${y1}`; // through a virtual point's row, or straight down
      } else {
        const c = Math.min(ROW_GAP, (y1 - y0) / 2);
        d += `C${x0.toFixed(1)} ${y0 + c} ${x1.toFixed(1)} ${y1 - c} ${x1.toFixed(1)} ${y1}`;
      }
    }
    paths.push(`<path d="${d}"/>`);
  }
  svg.push(`<g class="edges" marker-end="url(#arrow)">${paths.join('')}</g>`);
  const counts: Record<string, number> = { int8: 0, fp32: 0, qdq: 0, other: 0 };
  for (const g of all) counts[g.precision]++;
  for (const it of lay.items) {
    if (it.node < 0) continue;
    const g = nodes[it.node];
    const y = lay.rowY(it.layer);
    const l = sqnr.get(g.name);
    const kept = fp32Nodes.has(g.name);
    const tag = g.precision === 'int8' || g.precision === 'fp32' ? g.precision : g.precision === 'qdq' ? 'q/dq' : '';
    const detail = l ? `${fmtDb(l.isolated.sqnr)} dB` : '';
    const tip = `${g.name}\n${g.opType}, ${g.precision}${kept ? ' (kept in fp32 by the mixed-precision search)' : ''}${l ? `\nisolated SQNR ${fmtDbUnit(l.isolated.sqnr)}, accumulated ${fmtDbUnit(l.accumulated.sqnr)}` : ''}`;
    const parts = [
      `<g class="node ${g.precision}${kept ? ' kept' : ''}" transform="translate(${it.x.toFixed(1)} ${y})">`,
      `<title>${esc(tip)}</title><rect width="${NODE_W}" height="${NODE_H}" rx="5"/>`,
      `<text x="8" y="15" class="op">${esc(clip(g.opType, 19))}</text>`,
      tag ? `<text x="${NODE_W - 7}" y="15" text-anchor="end" class="tag">${tag}</text>` : '',
      `<text x="8" y="30" class="name">${esc(clip(g.name, detail ? 21 : 29))}</text>`,
      detail ? `<text x="${NODE_W - 7}" y="30" text-anchor="end" class="db">${esc(detail)}</text>` : '',
      '</g>',
    ];
    svg.push(parts.join(''));
  }
  svg.push('</svg>');
  const legend = [
    `<span><i class="swatch node-int8"></i>int8 (${counts.int8})</span>`,
    `<span><i class="swatch node-fp32"></i>fp32 compute (${counts.fp32})</span>`,
    `<span><i class="swatch node-qdq"></i>Q/DQ (${counts.qdq}${showQdq ? '' : ', hidden: edges pass through them'})</span>`,
    `<span><i class="swatch node-other"></i>other (${counts.other})</span>`,
  ];
  if (fp32Nodes.size) legend.push(`<span><i class="swatch node-kept"></i>kept in fp32 by the search</span>`);
  return `<section id="graph"><h2>Graph</h2>
<p class="note">The int8 model's nodes top to bottom in execution order (each row one step of the longest path from the inputs). int8 nodes show their isolated SQNR. Hover a node for its full name.</p>
<div class="legend">${legend.join('')}</div>
<div class="scroll graph-scroll">${svg.join('')}</div>
</section>`;
}

function tableSection(r: SensitivityReport, fp32Nodes: Set<string>): string {
  const layers = [...r.layers].sort((a, b) => byWorst(a.isolated.sqnr, b.isolated.sqnr) || byWorst(a.accumulated.sqnr, b.accumulated.sqnr));
  const total = r.totalMacs > 0 ? r.totalMacs : layers.reduce((s, l) => s + l.macs, 0);
  const row = (l: LayerSensitivity, i: number): string => {
    const stat = (s: ErrorStats, k: 'sqnr' | 'mse', f: (v: number) => string): string => `<td class="num" data-v="${sortKey(s[k])}">${esc(f(s[k]))}</td>`;
    const kept = fp32Nodes.has(l.node) ? ' <span class="badge fp32">fp32</span>' : '';
    const share = total > 0 ? l.macs / total : NaN;
    const cells = [
      `<td class="num" data-v="${i + 1}">${i + 1}</td>`,
      `<td data-v="${esc(l.node)}"><code>${esc(l.node)}</code>${kept}</td>`,
      `<td data-v="${esc(l.opType)}">${esc(l.opType)}</td>`,
      `<td class="num" data-v="${sortKey(l.macs)}">${esc(fmtMacs(l.macs))}</td>`,
      `<td class="num" data-v="${sortKey(share)}">${esc(fmtPercent(share))}</td>`,
      stat(l.isolated, 'sqnr', fmtDb),
      stat(l.isolated, 'mse', fmtSci),
      stat(l.accumulated, 'sqnr', fmtDb),
      stat(l.accumulated, 'mse', fmtSci),
      `<td class="num" data-v="${sortKey(l.accumulated.maxAbsError)}">${esc(fmtSci(l.accumulated.maxAbsError))}</td>`,
    ];
    return `<tr>${cells.join('')}</tr>`;
  };
  const th = (label: string, type: 'num' | 'str', cls = ''): string =>
    `<th class="${cls}" data-type="${type}" aria-sort="none"><button type="button">${label}</button></th>`;
  const heads = [
    th('#', 'num', 'num'),
    th('Node', 'str'),
    th('Op', 'str'),
    ...['MACs', 'MAC share', 'Isolated SQNR', 'Isolated MSE', 'Accum. SQNR', 'Accum. MSE', 'Accum. max |err|'].map((h) => th(h, 'num', 'num')),
  ].join('');
  return `<section id="layers"><h2>All layers</h2>
<p class="note">${layers.length} quantized nodes, worst isolated SQNR first. Click a column heading to sort; click again to reverse. SQNR in dB.</p>
<div class="scroll table-scroll"><table class="data sortable"><thead><tr>${heads}</tr></thead>
<tbody>${layers.map(row).join('')}</tbody></table></div>
</section>`;
}

const STYLE = `
:root{--fg:#1f2937;--muted:#6b7280;--line:#e5e7eb;--bg:#fff;--panel:#f9fafb;--blue:${C.blue};--orange:${C.orange};--verm:${C.vermillion}}
*{box-sizing:border-box}
body{margin:0;padding:24px 32px 48px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue","DejaVu Sans",Arial,sans-serif;color:var(--fg);background:var(--bg)}
h1{font-size:22px;margin:0 0 4px;font-weight:650}
h2{font-size:17px;margin:32px 0 6px;padding-bottom:4px;border-bottom:1px solid var(--line);font-weight:650}
h3{font-size:13px;margin:0 0 6px;color:var(--muted);font-weight:600;text-transform:uppercase;letter-spacing:.03em}
code{font:12px/1.3 ui-monospace,"SFMono-Regular",Menlo,Consolas,"DejaVu Sans Mono",monospace;word-break:break-all}
.models{margin:0;color:var(--fg)}.models span{color:var(--muted);margin-left:10px}.models span:first-child{margin-left:0}
.muted{color:var(--muted)}
nav{margin:14px 0 0;font-size:13px}nav a{color:var(--blue);text-decoration:none}nav a:hover{text-decoration:underline}
.note{color:var(--muted);margin:4px 0 10px;max-width:980px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin-top:16px}
.card{border:1px solid var(--line);border-radius:8px;padding:10px 14px;min-width:190px;max-width:320px;background:var(--panel)}
.card .label{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.03em}
.card .value{font-size:22px;font-weight:650;margin:2px 0}
.card .sub{font-size:12px;color:var(--muted)}
table.data{border-collapse:collapse;font-variant-numeric:tabular-nums}
table.data th,table.data td{padding:4px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
table.data th{background:var(--panel);font-weight:600;font-size:12px;position:sticky;top:0;z-index:1}
table.data td.num,table.data th.num{text-align:right;white-space:nowrap}
table.data tbody tr:hover{background:#f3f4f6}
th button{all:unset;cursor:pointer}th button:focus-visible{outline:2px solid var(--blue)}
th[aria-sort=ascending] button::after{content:" ▲";font-size:10px}th[aria-sort=descending] button::after{content:" ▼";font-size:10px}
.badge{display:inline-block;padding:0 7px;border-radius:9px;font-size:12px;font-weight:600;border:1px solid}
.badge.ok{color:#065f46;border-color:${C.green};background:#e6f5ef}.badge.bad{color:#8a3300;border-color:${C.vermillion};background:#fbe9df}
.badge.fp32{color:#8a3300;border-color:${C.vermillion};background:#fbe9df;font-size:11px}
.split{display:flex;gap:40px;flex-wrap:wrap}
dl.facts{display:grid;grid-template-columns:auto auto;gap:4px 16px;margin:0}dl.facts dt{color:var(--muted)}dl.facts dd{margin:0}
ol.fp32-nodes{margin:0;padding-left:22px;max-height:220px;overflow:auto}
details{margin-top:12px}summary{cursor:pointer;color:var(--blue)}
.legend{display:flex;flex-wrap:wrap;gap:18px;margin:6px 0 8px;font-size:13px}
.swatch{display:inline-block;width:14px;height:14px;border-radius:3px;vertical-align:-2px;margin-right:6px;border:1px solid rgba(0,0,0,.25)}
.scroll{overflow:auto;border:1px solid var(--line);border-radius:6px}
.chart-wrap{display:inline-block;max-width:100%}
.chart-scroll{max-height:560px;border-top:none;border-radius:0 0 6px 6px}
.chart-axis{display:block;background:var(--panel);border:1px solid var(--line);border-bottom:none;border-radius:6px 6px 0 0}
svg text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",Arial,sans-serif}
svg .tick{font-size:11px;fill:var(--muted)}svg .axis-title{font-size:11px;fill:var(--fg);font-weight:600}
svg .axis{stroke:#9ca3af}svg .grid{stroke:#eef0f3}svg .zero{stroke:#9ca3af}
svg .label{font:11px ui-monospace,Menlo,Consolas,"DejaVu Sans Mono",monospace;fill:var(--fg)}svg .label.op{fill:var(--muted)}
svg .fp32-tag{fill:var(--verm);font-weight:700}
svg .bar:hover{opacity:.8}
svg .bar.iso{fill:var(--blue)}svg .bar.acc{fill:var(--orange)}
svg .val{font-size:11px;fill:var(--fg);font-variant-numeric:tabular-nums}svg .val .iso-t{fill:var(--blue);font-weight:600}svg .val .acc-t{fill:#9a6700;font-weight:600}
.hists{display:flex;flex-wrap:wrap;gap:14px}
figure.hist{margin:0;border:1px solid var(--line);border-radius:6px;padding:8px;background:#fff}
figure.hist figcaption{font-size:12px;max-width:440px}
svg .h-fp32{fill:var(--verm);opacity:.85}svg .h-int8{fill:var(--blue);opacity:.85}
.graph-scroll{max-height:900px;background:var(--panel)}.graph-scroll svg{display:block;margin:0 auto}
svg .edges path{fill:none;stroke:#9ca3af;stroke-width:1.2}
svg .node rect{stroke-width:1.5}
svg .node .op{font-size:12px;font-weight:600;fill:#111827}
svg .node .name{font:10.5px ui-monospace,Menlo,Consolas,"DejaVu Sans Mono",monospace;fill:#374151}
svg .node .tag{font-size:10px;font-weight:700;letter-spacing:.04em}svg .node .db{font-size:10.5px;fill:#111827;font-variant-numeric:tabular-nums}
svg .node.int8 rect,.swatch.node-int8{fill:#dbeafe;background:#dbeafe;stroke:var(--blue);border-color:var(--blue)}svg .node.int8 .tag{fill:var(--blue)}
svg .node.fp32 rect,.swatch.node-fp32{fill:#fde4d3;background:#fde4d3;stroke:var(--verm);border-color:var(--verm)}svg .node.fp32 .tag{fill:var(--verm)}
svg .node.qdq rect,.swatch.node-qdq{fill:#f3f4f6;background:#f3f4f6;stroke:#9ca3af;stroke-dasharray:3 2;border-color:#9ca3af;border-style:dashed}svg .node.qdq .tag{fill:var(--muted)}
svg .node.other rect,.swatch.node-other{fill:#fff;background:#fff;stroke:#6b7280;border-color:#6b7280}
svg .node.kept rect{stroke-width:3.5}.swatch.node-kept{background:#fde4d3;border:3px solid var(--verm)}
.table-scroll{max-height:640px}
footer{margin-top:36px;color:var(--muted);font-size:12px}
`;

// Sorts tables with class "sortable" by the data-v of the clicked column; NaN last in both directions.
const SCRIPT = `
(function () {
  var tables = document.querySelectorAll('table.sortable');
  Array.prototype.forEach.call(tables, function (table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, col) {
      th.querySelector('button').addEventListener('click', function () {
        var numeric = th.getAttribute('data-type') === 'num';
        var dir = th.getAttribute('aria-sort') === 'ascending' ? -1 : 1;
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var key = function (row) {
          var v = row.cells[col].getAttribute('data-v');
          return numeric ? parseFloat(v) : v.toLowerCase();
        };
        var keyed = rows.map(function (row, i) { return { row: row, k: key(row), i: i }; });
        keyed.sort(function (a, b) {
          if (numeric) {
            var an = a.k !== a.k, bn = b.k !== b.k;
            if (an || bn) return an === bn ? a.i - b.i : an ? 1 : -1;
          }
          if (a.k < b.k) return -dir;
          if (a.k > b.k) return dir;
          return a.i - b.i;
        });
        var frag = document.createDocumentFragment();
        keyed.forEach(function (e) { frag.appendChild(e.row); });
        body.appendChild(frag);
        Array.prototype.forEach.call(heads, function (h) { h.setAttribute('aria-sort', 'none'); });
        th.setAttribute('aria-sort', dir === 1 ? 'ascending' : 'descending');
      });
    });
  });
})();
`;

/**
 * Renders a sensitivity report as one self-contained HTML page (no network access needed to view it).
 * Pure: no I/O, the same report gives the same bytes.
 */
export function renderReport(report: SensitivityReport, options?: ReportOptions): string {
  validateReport(report);
  const o = validateOptions(options);
  const title = o.title ?? `Quantization sensitivity: ${report.models.int8}`;
  const fp32Nodes = new Set(report.mixedPrecision?.fp32Nodes ?? []);
  const nav = [
    ['outputs', 'Outputs'],
    ...(report.mixedPrecision ? [['mixed-precision', 'Mixed precision']] : []),
    ['chart', 'Per-layer SQNR'],
    ...(report.histograms.length ? [['histograms', 'Distributions']] : []),
    ...(report.graph.length ? [['graph', 'Graph']] : []),
    ['layers', 'All layers'],
  ];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${summarySection(report, title)}
<nav class="muted">${nav.map(([id, label]) => `<a href="#${id}">${label}</a>`).join(' · ')}</nav>
${outputsSection(report)}
${mixedPrecisionSection(report.mixedPrecision, report)}
${chartSection(report, o.chartLayers, fp32Nodes)}
${histogramsSection(report)}
${graphSection(report, o.showQdq, fp32Nodes)}
${tableSection(report, fp32Nodes)}
<footer>Generated by octet. SQNR = 10·log10(Σ fp32² / Σ (fp32 − int8)²) over all evaluation samples; MSE = mean (fp32 − int8)².</footer>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

/** Renders the report and writes it to `path` atomically (temporary file beside it, then a rename). */
export function writeReport(report: SensitivityReport, path: string, options?: ReportOptions): void {
  if (typeof path !== 'string' || path === '') throw invalidParameterError('path', 'non-empty path string', path, typeof path === 'string');
  writeFileAtomic(path, renderReport(report, options));
}
