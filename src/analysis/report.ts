// `sae-match report`: one self-contained HTML page summarising a suite's output folder — cost
// distributions, matched fractions, feature lifetimes, EV per layer (when `sae-match eval` has written
// eval.json) and a flow view of a few long-lived features. Everything per-feature is aggregated here
// (histograms, counts) so a 26-layer 16k suite stays a few MB; the page inlines Apache ECharts and
// one JSON data block per plot, so it opens offline and a test can read every plot's numbers back.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { lifetimes, pairSummaries, traceFeature, unmatchedMask, type Lifetimes, type UnmatchedRule } from './analyze.js';
import { readSuiteOutput, type SuiteOutput } from '../match/folder.js';
import { SaeMatchInputError } from '../errors.js';
import { readEvaluation, type EvalFile } from './eval.js';
import { writeFileAtomic } from '../io/write.js';
import { toolVersion } from '../match/contract.js';

export interface ReportOptions {
  rule?: UnmatchedRule;
  /** How many first-layer features the flow view traces (default 20). */
  features?: number;
}

/** Shared log-spaced bins, so the pairs' histograms are comparable column by column. */
export interface CostHistogram {
  edges: number[];
  /** Costs at or below edges[0] (zero, or the minimum itself) fall in bin 0; NaN (unassigned) is left out. */
  pairs: Array<{ from: number; to: number; counts: number[]; threshold: number | null }>;
}

export const COST_BINS = 40;

/** Per-pair counts over COST_BINS log-spaced bins spanning the smallest positive to the largest cost. */
export function costHistogram(s: SuiteOutput, thresholds: number[]): CostHistogram {
  let lo = Infinity, hi = -Infinity;
  for (const p of s.pairs)
    for (const c of p.costs)
      if (Number.isFinite(c)) {
        if (c > 0 && c < lo) lo = c;
        if (c > hi) hi = c;
      }
  if (!Number.isFinite(lo)) lo = hi > 0 ? hi : 1; // all zero or none: any positive span will do
  if (!(hi > lo)) hi = lo * 10;
  const a = Math.log(lo), step = (Math.log(hi) - a) / COST_BINS;
  const edges = Array.from({ length: COST_BINS + 1 }, (_, k) => Math.exp(a + k * step));
  const pairs = s.pairs.map((p, k) => {
    const counts = new Array<number>(COST_BINS).fill(0);
    for (const c of p.costs) {
      if (!Number.isFinite(c)) continue;
      const b = c <= lo ? 0 : Math.floor((Math.log(c) - a) / step);
      counts[Math.min(COST_BINS - 1, Math.max(0, b))]!++;
    }
    return { from: p.from, to: p.to, counts, threshold: Number.isFinite(thresholds[k]!) ? thresholds[k]! : null };
  });
  return { edges, pairs };
}

export interface FlowData {
  layer: number;
  features: number[];
  nodes: Array<{ name: string; layer: number; feature: number }>;
  links: Array<{ source: string; target: string; value: number; cost: number }>;
}

/**
 * The `count` first-layer features with the longest chains, ties broken by the lowest mean cost along
 * the chain — the features a reader most wants to see persist — traced with traceFeature.
 */
export function flowData(s: SuiteOutput, life: Lifetimes, rule: UnmatchedRule, count: number): FlowData | null {
  if (!s.pairs.length) return null;
  const first = s.pairs[0]!, layer = first.from;
  const masks = new Map(s.pairs.map((p) => [p.from, unmatchedMask(p, rule)]));
  const lengths = life.perLayer.get(layer)!;
  const mean = new Float64Array(first.perm.length);
  for (let i = 0; i < mean.length; i++) {
    let sum = 0, n = 0;
    for (let l = layer, f = i, p = first; p && !masks.get(l)![f]; l = p.to, f = p.perm[f]!, p = s.pairs.find((x) => x.from === l)!) {
      sum += p.costs[f]!;
      n++;
    }
    mean[i] = n ? sum / n : Infinity;
  }
  const order = Array.from(mean.keys()).sort((x, y) => lengths[y]! - lengths[x]! || mean[x]! - mean[y]! || x - y);
  const features = order.slice(0, Math.min(count, order.length));
  const nodes: FlowData['nodes'] = [], links: FlowData['links'] = [];
  const name = (l: number, f: number) => `L${l}:f${f}`;
  for (const f of features) {
    const steps = traceFeature(s, layer, f, rule);
    steps.forEach((st, k) => {
      nodes.push({ name: name(st.layer, st.feature), layer: st.layer, feature: st.feature });
      const next = steps[k + 1];
      if (st.matched && next && st.cost !== null)
        links.push({ source: name(st.layer, st.feature), target: name(next.layer, next.feature), value: 1 / (1 + st.cost), cost: st.cost });
    });
  }
  return { layer, features, nodes, links };
}

/** eval.json without the pairs whose matches were redone since (their settings hash differs). */
function currentPairs(ev: EvalFile | null, m: { pairs: Array<{ from: number; to: number; settings: string }> }): EvalFile | null {
  if (!ev) return null;
  const now = new Map(m.pairs.map((p) => [`${p.from}:${p.to}`, p.settings]));
  const keep = ev.pairs.filter((p) => p.settings === undefined || now.get(`${p.from}:${p.to}`) === p.settings);
  const stale = ev.pairs.length - keep.length;
  if (!keep.length) return null;
  return stale ? { ...ev, pairs: keep, stale } : ev;
}

/** Everything the page plots, in the shape of the data blocks (exported for tests and other front-ends). */
export interface ReportData {
  header: { source_root: string; out: string; metric: string; pairs: number; rule: UnmatchedRule; suite_version: string; tool_version: string };
  costs: CostHistogram;
  matched: { pairs: ReturnType<typeof pairSummaries> };
  lifetimes: { histograms: Lifetimes['histograms']; middle: Lifetimes['middle'] };
  eval: EvalFile | null;
  flow: FlowData | null;
}

export async function reportData(out: string, opts: ReportOptions = {}): Promise<ReportData> {
  const rule = opts.rule ?? {};
  const features = opts.features ?? 20;
  if (!Number.isInteger(features) || features < 1) throw new SaeMatchInputError(`features must be an integer >= 1, got ${features}`);
  const s = await readSuiteOutput(out);
  if (!s.pairs.length) throw new SaeMatchInputError(`${s.out}: manifest.json lists no matched pairs; nothing to report`);
  const summaries = pairSummaries(s, rule);
  const life = lifetimes(s, rule);
  const m = s.manifest;
  return {
    header: { source_root: m.source_root, out: s.out, metric: m.metric, pairs: s.pairs.length, rule, suite_version: m.version, tool_version: toolVersion },
    costs: costHistogram(s, summaries.map((p) => p.threshold)),
    matched: { pairs: summaries },
    lifetimes: { histograms: life.histograms, middle: life.middle },
    eval: currentPairs(await readEvaluation(s.out), m),
    flow: flowData(s, life, rule, features),
  };
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** JSON safe inside <script>: no `</script>` or `<!--` can appear once `<` is escaped. */
const scriptJson = (x: unknown) => JSON.stringify(x).replace(/</g, '\\u003c');

let echartsSource: string | undefined;
async function echartsJs(): Promise<string> {
  if (echartsSource === undefined) {
    const file = createRequire(import.meta.url).resolve('echarts/dist/echarts.min.js');
    echartsSource = (await readFile(file, 'utf8')).replace(/<\/script/gi, '<\\/script');
  }
  return echartsSource;
}

function ruleText(r: UnmatchedRule): string {
  const parts = [r.quantile !== undefined ? `cost above the pair's ${r.quantile}-quantile` : '', r.maxCost !== undefined ? `cost above ${r.maxCost}` : ''].filter(Boolean);
  return parts.length ? `unmatched when ${parts.join(' or ')}, or unassigned` : 'plain SAE Match (only unassigned features are unmatched)';
}

function section(id: string, title: string, data: unknown, note = ''): string {
  return `<section><h2>${esc(title)}</h2>${note ? `<p>${note}</p>` : ''}<div class="chart" id="chart-${id}"></div>\n` +
    `<script type="application/json" id="data-${id}" data-plot="${id}">${scriptJson(data)}</script></section>\n`;
}

function headerHtml(d: ReportData): string {
  const h = d.header;
  const rows: Array<[string, string]> = [['source root', h.source_root], ['output folder', h.out], ['metric', h.metric], ['pairs', String(h.pairs)],
    ['rule', ruleText(h.rule)], ['suite written by', `sae-match ${h.suite_version}`], ['report by', `sae-match ${h.tool_version}`]];
  return `<h1>SAE Match report</h1><table class="meta">${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>\n`;
}

/** The HTML page for a suite's output folder (see the file comment). */
export async function buildReport(out: string, opts: ReportOptions = {}): Promise<string> {
  const d = await reportData(out, opts);
  const mid = d.lifetimes.middle;
  const midText = mid
    ? `Middle layers ${mid.layers[0]}–${mid.layers.at(-1)}: mean lifetime <b>${mid.meanLifetime.toFixed(2)}</b> layers, median <b>${mid.medianLifetime}</b>.`
    : 'Fewer than three layers: no middle-layer statistic.';
  const body = [
    headerHtml(d),
    section('costs', 'Match cost distribution per pair', d.costs, 'Features per log-spaced cost bin (shared bins); the red mark is the rule\'s cost threshold.'),
    section('matched', 'Matched fraction per pair', d.matched.pairs, esc(ruleText(d.header.rule)) + '.'),
    section('lifetimes', 'Feature lifetimes', d.lifetimes, `Features by the number of consecutive layers they persist, per starting layer. ${midText}`),
    d.eval ? section('eval', 'Explained variance per layer', d.eval, `From eval.json (${d.eval.rows} rows of ${esc(String(d.eval.acts))}).` +
      (d.eval.stale ? ` ${d.eval.stale} pair(s) of eval.json scored earlier matches and are left out: rerun \`sae-match eval\`.` : '')) : '',
    d.eval ? `<div class="chart" id="chart-hybrid"></div>\n` : '',
    d.flow ? section('flow', 'Feature flow', d.flow, `The ${d.flow.features.length} features of layer ${d.flow.layer} with the longest, then cheapest, chains; link width 1/(1+cost).`) : '',
  ].join('');
  return `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>SAE Match report: ${esc(d.header.out)}</title>\n<style>${CSS}</style>\n` +
    `<script>${await echartsJs()}</script></head>\n<body>\n${body}<script>${REPORT_CLIENT_JS}</script>\n</body></html>\n`;
}

const CSS = 'body{font-family:system-ui,sans-serif;margin:24px;max-width:1300px;color:#222}' +
  'table.meta th{text-align:left;padding-right:16px;font-weight:600}.chart{width:100%;height:460px}' +
  'section{margin-top:28px}#chart-flow{height:720px}#chart-hybrid{height:420px}';

/** Writes the report atomically; returns its size in bytes. */
export async function writeReport(out: string, file: string, opts: ReportOptions = {}): Promise<number> {
  const bytes = Buffer.from(await buildReport(out, opts), 'utf8');
  await writeFileAtomic(file, bytes);
  return bytes.length;
}

// The page's own script: reads each data block and builds its ECharts option. Plain ES5-ish JS in a
// string (no template literals inside), so it is inlined verbatim.
const REPORT_CLIENT_JS = String.raw`
(function () {
  function data(id) { var el = document.getElementById('data-' + id); return el ? JSON.parse(el.textContent) : null; }
  // No animation: a static page, and a headless screenshot must show the finished chart.
  function chart(id, option) { var el = document.getElementById('chart-' + id); if (!el) return; var c = echarts.init(el); option.animation = false; c.setOption(option); window.addEventListener('resize', function () { c.resize(); }); }
  function fmt(x) { return x === null || x === undefined ? '' : (Math.abs(x) >= 1e4 || Math.abs(x) < 1e-3 ? x.toExponential(2) : x.toPrecision(3)); }
  function pairName(p) { return p.from + '\u2192' + p.to; }
  var grid = { left: 80, right: 110, top: 60, bottom: 70 };
  var axisName = function (name) { return { name: name, nameLocation: 'middle', nameGap: 45 }; };

  var costs = data('costs');
  if (costs) {
    var labels = [], cells = [], max = 1, marks = [];
    for (var k = 0; k + 1 < costs.edges.length; k++) labels.push(fmt(Math.sqrt(costs.edges[k] * costs.edges[k + 1])));
    costs.pairs.forEach(function (p, x) {
      p.counts.forEach(function (n, y) { if (n > 0) { cells.push([x, y, n]); if (n > max) max = n; } });
      if (p.threshold !== null) {
        var b = 0; while (b + 1 < costs.edges.length - 1 && costs.edges[b + 1] < p.threshold) b++;
        marks.push({ coord: [x, b], value: fmt(p.threshold) });
      }
    });
    chart('costs', {
      title: { text: 'Match cost distribution per pair (log-spaced bins)' }, tooltip: { formatter: function (q) { return 'pair ' + pairName(costs.pairs[q.value[0]]) + '<br>cost \u2248 ' + labels[q.value[1]] + '<br>' + q.value[2] + ' features'; } },
      grid: grid, xAxis: Object.assign({ type: 'category', data: costs.pairs.map(pairName) }, axisName('pair of layers')),
      yAxis: Object.assign({ type: 'category', data: labels, axisLabel: { interval: 4 } }, axisName('match cost (bin centre)'), { nameGap: 60 }),
      visualMap: { min: 0, max: max, calculable: true, orient: 'vertical', right: 10, top: 'center', text: ['features', ''] },
      series: [{ type: 'heatmap', data: cells, markPoint: { symbol: 'rect', symbolSize: [12, 4], itemStyle: { color: '#d00' }, label: { show: false }, data: marks } }]
    });
  }

  var matched = data('matched');
  if (matched) {
    var frac = function (f) { return matched.map(function (p) { return p.n_from ? f(p) / p.n_from : 0; }); };
    var bar = function (name, f, color) { return { name: name, type: 'bar', stack: 'all', data: frac(f), itemStyle: { color: color } }; };
    chart('matched', {
      title: { text: 'Matched fraction per pair under the rule' }, tooltip: { trigger: 'axis', valueFormatter: function (v) { return (100 * v).toFixed(1) + '%'; } },
      legend: { top: 28 }, grid: grid, xAxis: Object.assign({ type: 'category', data: matched.map(pairName) }, axisName('pair of layers')),
      yAxis: Object.assign({ type: 'value', max: 1 }, axisName('fraction of features of the first layer')),
      series: [bar('matched', function (p) { return p.matched; }, '#3a7'), bar('unmatched (cost)', function (p) { return p.unmatched - p.unassigned; }, '#e93'),
        bar('unassigned', function (p) { return p.unassigned; }, '#888')]
    });
  }

  var life = data('lifetimes');
  if (life) {
    var longest = 0; life.histograms.forEach(function (h) { longest = Math.max(longest, h.counts.length); });
    var series = [];
    for (var k = 0; k < longest; k++) series.push({ name: (k + 1) + (k ? ' layers' : ' layer'), type: 'bar', stack: 'all', data: life.histograms.map(function (h) { return h.counts[k] || 0; }) });
    chart('lifetimes', {
      title: { text: 'Feature lifetime by starting layer' }, tooltip: { trigger: 'axis' }, legend: { type: 'scroll', top: 28 }, grid: grid,
      xAxis: Object.assign({ type: 'category', data: life.histograms.map(function (h) { return 'L' + h.layer; }) }, axisName('starting layer')),
      yAxis: Object.assign({ type: 'value' }, axisName('features')), series: series
    });
  }

  var ev = data('eval');
  if (ev) {
    var methods = ['sae_match', 'own', 'no_permutation', 'reuse_previous'];
    chart('eval', {
      title: { text: 'Explained variance of layer l+1 per method' }, tooltip: { trigger: 'axis' }, legend: { top: 28 }, grid: grid,
      xAxis: Object.assign({ type: 'category', data: ev.pairs.map(pairName) }, axisName('pair of layers (SAE of l used on l+1)')),
      // The chance baseline can sit far below zero (EV is unbounded below) and would flatten the
      // methods that matter: the axis stops at -1 and such points sit on its floor (the tooltip and the
      // data block keep the true value).
      yAxis: Object.assign({ type: 'value', scale: true, min: function (v) { return Math.max(v.min, -1); } }, axisName('explained variance (floor -1)')),
      tooltip: { trigger: 'axis', valueFormatter: function (v) { return v === null || v === undefined ? '-' : Number(v).toFixed(4); } },
      series: methods.map(function (m) {
        return { name: m, type: 'line', connectNulls: false, data: ev.pairs.map(function (p) {
          var v = p.ev[m]; if (v === undefined || v === null) return null;
          return v < -1 ? { value: -1, symbol: 'triangle', symbolRotate: 180, tooltip: { valueFormatter: function () { return Number(v).toFixed(4); } } } : v;
        }) };
      })
    });
    chart('hybrid', {
      title: { text: 'Quantile hybrid: EV against the quantile q of matches kept' }, tooltip: { trigger: 'axis' }, legend: { type: 'scroll', top: 28 }, grid: grid,
      xAxis: Object.assign({ type: 'value', min: 'dataMin', max: 1 }, axisName('quantile q')), yAxis: Object.assign({ type: 'value', scale: true }, axisName('explained variance')),
      series: ev.pairs.map(function (p) { return { name: pairName(p), type: 'line', data: (p.hybrid || []).map(function (h) { return [h.q, h.ev]; }) }; })
    });
  }

  var flow = data('flow');
  if (flow) {
    // Past a dozen columns the node labels overlap; the tooltip still names every node.
    var layers = 0; flow.nodes.forEach(function (n) { layers = Math.max(layers, n.layer - flow.layer + 1); });
    chart('flow', {
      title: { text: 'Feature flow from layer ' + flow.layer }, tooltip: { formatter: function (q) { return q.dataType === 'edge' ? q.data.source + ' \u2192 ' + q.data.target + '<br>cost ' + fmt(q.data.cost) : q.name; } },
      series: [{ type: 'sankey', top: 50, bottom: 20, left: 20, right: 120, nodeGap: 6, emphasis: { focus: 'adjacency' }, lineStyle: { color: 'source', opacity: 0.4 },
        label: { show: layers <= 12, fontSize: 9 }, data: flow.nodes.map(function (n) { return { name: n.name }; }), links: flow.links }]
    });
  }
})();
`;
