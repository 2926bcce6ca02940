/**
 * renderReport / writeReport: argument checks; escaping of hostile names; ∞, NaN and null SQNR; the measured
 * report of the real PP-OCR classifier (bars, graph nodes, table rows, size); the real PP-OCR detector's int8
 * graph (≈1150 nodes) and a 1000-layer chain for layout and speed; atomic writes; and the page in headless
 * Chromium: a screenshot that is not blank, no console errors, the table's sort script, markup not executed.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { renderReport, writeReport } from '../../../src/analysis/report.js';
import type { SensitivityReport } from '../../../src/analysis/types.js';
import { OctetError } from '../../../src/errors.js';
import * as octet from '../../../src/index.js';
import { quantize } from '../../../src/quantize/quantize.js';
import { createOctetExecutor } from '../../../src/runtime/calibration-executor.js';
import { requireChromium, runChromium } from '../../helpers/chromium.js';
import { readPng } from '../../helpers/png.js';
import { MODELS_DIR, photoSample } from '../quantize-graph/helpers/real-data.js';
import { graphSummary, ppocrClsReport, type ClsReport } from './helpers/ppocr-cls-report.js';
import { chainReport, EVIL, hostileReport } from './helpers/synthetic-reports.js';

const count = (s: string, re: RegExp): number => s.match(re)?.length ?? 0;
/** The HTML of one <section id=…>. */
const section = (html: string, id: string): string => {
  const start = html.indexOf(`<section id="${id}">`);
  if (start < 0) return '';
  return html.slice(start, html.indexOf('</section>', start));
};
/** Node boxes of the graph: [class, x, y, width-less]. */
const nodeBoxes = (html: string): { cls: string; x: number; y: number }[] =>
  [...section(html, 'graph').matchAll(/<g class="node ([^"]+)" transform="translate\(([\d.]+) ([\d.]+)\)">/g)].map((m) => ({ cls: m[1], x: Number(m[2]), y: Number(m[3]) }));
/** Edge paths of the graph (the arrow marker's path excluded). */
const edgeCount = (html: string): number => {
  const g = section(html, 'graph');
  const start = g.indexOf('<g class="edges"');
  return count(g.slice(start, g.indexOf('</g>', start)), /<path d="M/g);
};
const tableRows = (html: string): number => count(section(html, 'layers'), /<tr>/g) - 1;
const decode = (s: string): string => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');

let dir: string;
let cls: ClsReport;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'octet-report-'));
  cls = await ppocrClsReport();
}, 180_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('renderReport: invalid arguments', () => {
  it('rejects a report that is not an object, naming the argument', () => {
    expect(() => renderReport(null as never)).toThrow(new TypeError('Expected SensitivityReport object for report but received null'));
    expect(() => renderReport([] as never)).toThrow(new TypeError('Expected SensitivityReport object for report but received Array of length 0'));
  });

  it('names the field that is wrong', () => {
    const r = hostileReport();
    expect(() => renderReport({ ...r, models: { fp32: 'a' } } as never)).toThrow(new TypeError('Expected string for report.models.int8 but received undefined'));
    expect(() => renderReport({ ...r, layers: 'x' } as never)).toThrow(new TypeError("Expected array for report.layers but received 'x' of type string"));
    const badLayer = structuredClone(r);
    (badLayer.layers[1].isolated as { sqnr: unknown }).sqnr = '18';
    expect(() => renderReport(badLayer)).toThrow(new TypeError("Expected number or null for report.layers[1].isolated.sqnr but received '18' of type string"));
    const badPrecision = structuredClone(r);
    (badPrecision.graph[2] as { precision: string }).precision = 'int4';
    expect(() => renderReport(badPrecision)).toThrow(new RangeError("Expected one of 'int8', 'fp32', 'qdq', 'other' for report.graph[2].precision but received 'int4' of type string"));
    const badHistogram = structuredClone(r);
    badHistogram.histograms[0].int8.pop();
    expect(() => renderReport(badHistogram)).toThrow(new RangeError('Expected array of length 8 (as report.histograms[0].fp32) for report.histograms[0].int8 but received Array of length 7'));
    const badRange = structuredClone(r);
    (badRange.histograms[0] as { range: unknown }).range = [0];
    expect(() => renderReport(badRange)).toThrow(new TypeError('Expected [number, number] for report.histograms[0].range but received Array of length 1'));
    const badMp = structuredClone(r);
    (badMp.mixedPrecision as { met: unknown }).met = 'yes';
    expect(() => renderReport(badMp)).toThrow(new TypeError("Expected boolean for report.mixedPrecision.met but received 'yes' of type string"));
  });

  it('checks options and suggests the option meant', () => {
    const r = hostileReport();
    expect(() => renderReport(r, 5 as never)).toThrow(new TypeError('Expected object for options but received 5 of type number'));
    expect(() => renderReport(r, { chartLayer: 10 } as never)).toThrow(new TypeError("Unknown option 'chartLayer' in options; did you mean 'chartLayers'?"));
    expect(() => renderReport(r, { chartLayers: 0 })).toThrow(new RangeError('Expected positive integer for options.chartLayers but received 0 of type number'));
    expect(() => renderReport(r, { chartLayers: '5' as never })).toThrow(new TypeError("Expected positive integer for options.chartLayers but received '5' of type string"));
    expect(() => renderReport(r, { showQdq: 1 as never })).toThrow(new TypeError('Expected boolean for options.showQdq but received 1 of type number'));
    expect(() => renderReport(r, { title: null as never })).toThrow(new TypeError('Expected string for options.title but received null'));
  });

  it('writeReport checks the path and reports a failed write without leaving a temporary file', () => {
    const r = hostileReport();
    expect(() => writeReport(r, '')).toThrow(new RangeError("Expected non-empty path string for path but received '' of type string"));
    expect(() => writeReport(r, 3 as never)).toThrow(new TypeError('Expected non-empty path string for path but received 3 of type number'));
    const missing = join(dir, 'no-such-folder', 'report.html');
    let err: unknown;
    try {
      writeReport(r, missing);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OctetError);
    expect((err as OctetError).code).toBe('ERR_OCTET_WRITE');
    expect((err as OctetError).message).toMatch(new RegExp(`^cannot write '${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}': ENOENT`));
  });
});

describe('renderReport: escaping and special values', () => {
  it('escapes every name from the model: no markup of theirs survives, the text does', () => {
    const html = renderReport(hostileReport(), { title: 'Report <b>&</b>' });
    expect(count(html, /<script/g)).toBe(1); // the page's own sort script
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<svg onload');
    expect(html).not.toContain('<h1>out');
    expect(html).not.toContain("'pwned'");
    expect(html).toContain('&lt;script&gt;alert(&quot;conv&quot;)&lt;/script&gt;');
    expect(html).toContain('&quot;quoted&quot; &amp; &#39;single&#39; &lt;b&gt;bold&lt;/b&gt;');
    expect(html).toContain('<title>Report &lt;b&gt;&amp;&lt;/b&gt;</title>');
    expect(html).toContain('<code>a&amp;b &lt;fp32&gt;.onnx</code>');
    // Every attribute value is double-quoted and contains no raw quote or angle bracket.
    for (const m of html.matchAll(/ [a-z-]+="([^"]*)"/g)) expect(m[1]).not.toMatch(/[<>]/);
  });

  it('shows ∞ for identical tensors, n/a for NaN and for null (JSON of Infinity/NaN), − for negatives', () => {
    const html = renderReport(hostileReport());
    const table = section(html, 'layers');
    expect(table).toContain('<td class="num" data-v="Infinity">∞</td>');
    expect(table).toContain('<td class="num" data-v="NaN">n/a</td>');
    expect(table).toContain('<td class="num" data-v="-3.5">−3.5</td>');
    const chart = section(html, 'chart');
    expect(chart).toContain('<title>isolated: ∞ dB</title>'); // a bar into the hatched ∞ column
    expect(chart).toMatch(/class="val">n\/a<\/text>/); // no bar for NaN
    expect(chart).toContain('<tspan class="iso-t">n/a</tspan> / <tspan class="acc-t">−3.5</tspan>');
    // Through JSON, Infinity and NaN become null: still renders, as n/a.
    const viaJson = JSON.parse(JSON.stringify(hostileReport())) as SensitivityReport;
    expect(viaJson.layers[2].isolated.sqnr).toBeNull();
    const again = renderReport(viaJson);
    expect(count(section(again, 'layers'), /data-v="NaN">n\/a</g)).toBe(count(table, /data-v="NaN">n\/a</g) + 1);
  });

  it('is a pure function: same bytes twice, input untouched', () => {
    const r = hostileReport();
    const before = structuredClone(r);
    expect(renderReport(r)).toBe(renderReport(r));
    expect(r).toEqual(before);
  });

  it('folds Q/DQ nodes into edges unless asked, and lays the graph out top-down by longest path', () => {
    const html = renderReport(hostileReport());
    const boxes = nodeBoxes(html);
    expect(boxes.map((b) => b.cls)).toEqual(['int8', 'other', 'fp32 kept', 'int8']); // conv, relu, matmul, add
    expect(boxes.map((b) => b.y)).toEqual([16, 80, 144, 208]); // one row each
    expect(edgeCount(html)).toBe(4); // conv→relu, relu→matmul, matmul→add, conv→add
    const all = renderReport(hostileReport(), { showQdq: true });
    const allBoxes = nodeBoxes(all);
    expect(allBoxes.length).toBe(8);
    expect(allBoxes.filter((b) => b.cls === 'qdq').length).toBe(4);
    expect(edgeCount(all)).toBe(8);
    // x_dq and w_dq (no producers) share row 0; conv, c_q, c_dq, relu, matmul, add take one row each below.
    const rowsOf = (cls: string) => allBoxes.filter((b) => b.cls.startsWith(cls)).map((b) => (b.y - 16) / 64);
    expect(rowsOf('qdq')).toEqual([0, 0, 2, 3]);
    expect(rowsOf('int8')).toEqual([1, 6]);
    expect([...rowsOf('other'), ...rowsOf('fp32')]).toEqual([4, 5]);
  });
});

describe('renderReport: the measured report of the real PP-OCR classifier', () => {
  it('draws one bar pair per layer up to chartLayers, every non-Q/DQ node, a table row per layer', () => {
    const r = cls.report;
    expect(r.layers.length).toBeGreaterThan(100);
    const html = renderReport(r);
    const chart = section(html, 'chart');
    expect(count(chart, /<rect class="bar iso"/g)).toBe(100);
    expect(count(chart, /<rect class="bar acc"/g)).toBe(100);
    expect(chart).toContain(`Showing the 100 worst of ${r.layers.length} layers`);
    expect(count(renderReport(r, { chartLayers: 1000 }), /<rect class="bar iso"/g)).toBe(r.layers.length);
    const visible = r.graph.filter((g) => g.precision !== 'qdq');
    expect(nodeBoxes(html).length).toBe(visible.length);
    expect(nodeBoxes(renderReport(r, { showQdq: true })).length).toBe(r.graph.length);
    expect(tableRows(html)).toBe(r.layers.length);
    expect(count(section(html, 'histograms'), /<figure class="hist">/g)).toBe(r.histograms.length);
    // The mixed-precision section lists the nodes kept in fp32, in order, and the graph marks them.
    const mp = section(html, 'mixed-precision');
    const kept = r.mixedPrecision!.fp32Nodes;
    expect([...mp.matchAll(/<li><code>([^<]*)<\/code>/g)].map((m) => decode(m[1]))).toEqual(kept);
    expect(count(section(html, 'graph'), /<g class="node [a-z0-9]+ kept"/g)).toBe(kept.length);
    // Worst first in the table.
    const iso = [...section(html, 'layers').matchAll(/<tr><td class="num" data-v="\d+">\d+<\/td>(?:<td[^>]*>.*?<\/td>){4}<td class="num" data-v="([^"]+)">/g)].map((m) => Number(m[1]));
    expect(iso.length).toBe(r.layers.length);
    for (let i = 1; i < iso.length; i++) expect(iso[i]).toBeGreaterThanOrEqual(iso[i - 1]);
    expect(html.length).toBeLessThan(1_000_000);
  });
});

describe('renderReport: scale', () => {
  it('the real PP-OCR detector int8 graph: boxes never overlap, file under 1 MB', async () => {
    const bytes = readFileSync(join(MODELS_DIR, 'ppocr_det.onnx'));
    const { model } = await quantize(bytes, { calibration: [photoSample('ppocr_det', 'astronaut.png')], executor: createOctetExecutor, progress: false });
    const graph = graphSummary(model);
    expect(graph.length).toBeGreaterThan(700);
    // Real graph, synthetic per-layer numbers (this test is about layout and size).
    const layers = graph
      .filter((g) => g.precision === 'int8')
      .map((g, i) => ({ node: g.name, opType: g.opType, tensor: g.outputs[0], macs: g.opType === 'Conv' ? 1e6 : 0, isolated: { sqnr: 20 + (i % 40), mse: 1e-3, maxAbsError: 0.1 }, accumulated: { sqnr: 10 + (i % 30), mse: 1e-2, maxAbsError: 0.5 } }));
    const report: SensitivityReport = { models: { fp32: 'ppocr_det.onnx', int8: 'ppocr_det.int8.onnx (synthetic per-layer numbers)' }, samples: 1, layers, outputs: [], histograms: [], graph, totalMacs: 1e9, seconds: 0 };
    const t0 = performance.now();
    const html = renderReport(report);
    const ms = performance.now() - t0;
    const boxes = nodeBoxes(html);
    expect(boxes.length).toBe(graph.filter((g) => g.precision !== 'qdq').length);
    const rows = new Map<number, number[]>();
    for (const b of boxes) (rows.get(b.y) ?? rows.set(b.y, []).get(b.y)!).push(b.x);
    for (const xs of rows.values()) {
      xs.sort((a, b) => a - b);
      for (let i = 1; i < xs.length; i++) expect(xs[i] - xs[i - 1]).toBeGreaterThanOrEqual(200); // NODE_W
    }
    expect(html.length).toBeLessThan(1_000_000);
    console.log(`ppocr_det: ${graph.length} nodes (${boxes.length} drawn in ${rows.size} rows), ${layers.length} layers: ${(html.length / 1024).toFixed(0)} KiB in ${ms.toFixed(0)} ms`);
  }, 120_000);

  it('1000 layers and 3500 nodes render in under 2 s', () => {
    const report = chainReport(500);
    expect(report.layers.length).toBe(1000);
    renderReport(report); // warm up
    const t0 = performance.now();
    const html = renderReport(report);
    const ms = performance.now() - t0;
    expect(tableRows(html)).toBe(1000);
    expect(nodeBoxes(html).length).toBe(1000);
    expect(ms).toBeLessThan(2000); // 100–600 ms on this shared 2-core machine; generous for CI
    console.log(`chain: ${report.graph.length} nodes, 1000 layers: ${(html.length / 1024).toFixed(0)} KiB in ${ms.toFixed(0)} ms`);
  });
});

describe('writeReport', () => {
  it('writes the rendered page atomically (no temporary file left) and replaces an existing one', () => {
    const path = join(dir, 'cls.html');
    writeFileSync(path, 'old');
    writeReport(cls.report, path);
    expect(readFileSync(path, 'utf8')).toBe(renderReport(cls.report));
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('is exported from the package with renderReport', () => {
    expect(octet.renderReport).toBe(renderReport);
    expect(octet.writeReport).toBe(writeReport);
  });
});

describe('the report in headless Chromium', () => {
  it('Chromium is installed (scripts/install-deps.sh) and its console capture sees errors', () => {
    requireChromium();
    // A negative control: a page with an error must show up, or "no console errors" below would prove nothing.
    const bad = join(dir, 'bad.html');
    writeFileSync(bad, '<!doctype html><title>x</title><script>console.error("boom"); undefinedFunction();</script>');
    const r = runChromium(bad, { dumpDom: true });
    expect(r.console.some((l) => l.includes('"boom"'))).toBe(true);
    expect(r.console.some((l) => l.includes('Uncaught ReferenceError: undefinedFunction is not defined'))).toBe(true);
  }, 120_000);

  it('the real report: a screenshot with text, bars in both colours and histograms; no console messages', () => {
    const path = join(dir, 'cls-shot.html');
    writeReport(cls.report, path);
    const shot = join(dir, 'cls.png');
    const r = runChromium(path, { screenshot: shot, width: 1400, height: 2000 });
    expect(r.console).toEqual([]);
    expect(existsSync(shot)).toBe(true);
    const png = readPng(shot);
    expect([png.width, png.height]).toEqual([1400, 2000]);
    const px = (x: number, y: number): number[] => {
      const i = (y * png.width + x) * png.channels;
      return [png.data[i], png.data[i + 1], png.data[i + 2]];
    };
    const inBand = (y0: number, y1: number, test: (p: number[]) => boolean): number => {
      let n = 0;
      for (let y = y0; y < y1; y++) for (let x = 0; x < png.width; x++) if (test(px(x, y))) n++;
      return n;
    };
    const nonWhite = (p: number[]): boolean => p[0] < 235 || p[1] < 235 || p[2] < 235;
    const near = (rgb: number[], tol = 30) => (p: number[]) => Math.abs(p[0] - rgb[0]) <= tol && Math.abs(p[1] - rgb[1]) <= tol && Math.abs(p[2] - rgb[2]) <= tol;
    expect(inBand(0, 60, nonWhite)).toBeGreaterThan(2000); // the title
    expect(inBand(90, 200, nonWhite)).toBeGreaterThan(5000); // summary cards
    expect(inBand(0, 2000, near([0x00, 0x72, 0xb2]))).toBeGreaterThan(10_000); // isolated bars (blue)
    expect(inBand(0, 2000, near([0xe6, 0x9f, 0x00]))).toBeGreaterThan(10_000); // accumulated bars (orange)
    expect(inBand(1400, 2000, near([219, 118, 38], 40))).toBeGreaterThan(500); // fp32 histogram bars (vermillion at 85 %)
  }, 120_000);

  it('the sort script orders the table by the clicked column, NaN last both ways; hostile names stay text', () => {
    const page = renderReport(hostileReport()).replace(
      '</body>',
      `<script>
(function () {
  function col(i) { return Array.prototype.map.call(document.querySelectorAll('#layers tbody tr'), function (r) { return r.cells[i].getAttribute('data-v'); }); }
  var b = document.querySelectorAll('#layers thead th button');
  var out = {};
  b[5].click(); out.isoAsc = col(5);
  b[5].click(); out.isoDesc = col(5);
  b[1].click(); out.nodeAsc = col(1);
  out.sort = Array.prototype.map.call(document.querySelectorAll('#layers thead th'), function (th) { return th.getAttribute('aria-sort'); });
  var pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
})();
</script>
</body>`,
    );
    const path = join(dir, 'hostile.html');
    writeFileSync(path, page);
    const r = runChromium(path, { dumpDom: true });
    expect(r.console).toEqual([]);
    const probe = r.dom.match(/<pre id="probe">(.*?)<\/pre>/s);
    expect(probe).not.toBeNull();
    const out = JSON.parse(decode(probe![1])) as { isoAsc: string[]; isoDesc: string[]; nodeAsc: string[]; sort: string[] };
    expect(out.isoAsc).toEqual(['18.25', 'Infinity', 'NaN']);
    expect(out.isoDesc).toEqual(['Infinity', '18.25', 'NaN']);
    expect(out.nodeAsc).toEqual([EVIL.matmul, EVIL.conv, EVIL.add].sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1)));
    expect(out.sort[1]).toBe('ascending');
    expect(out.sort.filter((s) => s === 'none').length).toBe(out.sort.length - 1);
    // The markup in the names was never parsed as markup: no <img>, the title not rewritten, names present as text.
    expect(r.dom).not.toMatch(/<img/);
    expect(r.dom).toContain('<title>Quantization sensitivity: "int8" &amp; &lt;int8&gt;.onnx</title>');
    expect(count(r.dom, /<script/g)).toBe(2); // the page's and the probe's
    expect(count(r.dom, /<g class="node /g)).toBe(4);
    expect(r.dom).toContain('&lt;script&gt;alert("conv")&lt;/script&gt;');
  }, 120_000);
});
