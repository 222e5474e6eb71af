// `sae-match report`: one self-contained HTML page summarising a suite's output folder — cost
// distributions, matched fractions, feature lifetimes, EV per layer (when `sae-match eval` has written
// eval.json) and a flow view of a few long-lived features. Everything per-feature is aggregated here
// (histograms, counts) so a 26-layer 16k suite stays a few MB; the page inlines Apache ECharts and
// one JSON data block per plot, so it opens offline and a test can read every plot's numbers back.
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { readNpy } from '../io/npy.js';
import { createRequire } from 'node:module';
import { lifetimes, pairSummaries, traceFeature, unmatchedMask, unmatchedThreshold, type Lifetimes, type UnmatchedRule } from './analyze.js';
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
  links: Array<{ source: string; target: string; value: number; cost: number; split?: boolean }>;
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

/**
 * Splits and merges in the flow view: a traced feature's second-best candidate (from --topk) whose
 * cost is under the pair's threshold, or within 1.5× of the match's own cost, is drawn as a dashed link.
 */
export async function addFlowSplits(s: SuiteOutput, flow: FlowData, rule: UnmatchedRule): Promise<void> {
  const have = new Set(flow.nodes.map((n) => n.name));
  for (const p of s.pairs) {
    const t = await readTopk(s, p);
    if (!t || t.k < 2) continue;
    const th = unmatchedThreshold(p, rule);
    for (const n of flow.nodes.filter((x) => x.layer === p.from)) {
      const j = t.idx[n.feature * t.k + 1]!, c = t.cost[n.feature * t.k + 1]!;
      if (j < 0 || !(c <= th || c <= 1.5 * p.costs[n.feature]!)) continue;
      const target = `L${p.to}:f${j}`;
      if (!have.has(target)) {
        flow.nodes.push({ name: target, layer: p.to, feature: j });
        have.add(target);
      }
      flow.links.push({ source: n.name, target, value: 1 / (1 + c), cost: c, split: true });
    }
  }
}

/** Per pair: the features of `from` that die (unmatched under the rule) and those of `to` born (no matched parent). */
export function turnover(s: SuiteOutput, rule: UnmatchedRule): Array<{ from: number; to: number; died: number; born: number; n_from: number; n_to: number }> {
  return s.pairs.map((p) => {
    const mask = unmatchedMask(p, rule);
    const parent = new Uint8Array(p.entry.n_to);
    let died = 0;
    for (let i = 0; i < mask.length; i++) if (mask[i]) died++; else parent[p.perm[i]!] = 1;
    return { from: p.from, to: p.to, died, born: parent.length - parent.reduce((a, b) => a + b, 0), n_from: p.entry.n_from, n_to: p.entry.n_to };
  });
}

/** Top-k candidates a page carries at most per pair (the rest stay in the .npy files). */
const EXPLORER_TOPK = 4;

/** The explorer's data: every pair's perm and costs (4 significant digits), its threshold, and the first top-k candidates. */
export interface ExplorerData {
  pairs: Array<{ from: number; to: number; perm: number[]; costs: Array<number | null>; threshold: number | null; topk?: { k: number; idx: number[]; cost: number[] } }>;
  /** Neuronpedia's source id per layer (a canonical Gemma Scope release), e.g. gemma-2-2b / 12-gemmascope-res-16k. */
  neuronpedia?: { model: string; sources: Record<number, string> };
}

const sig = (x: number) => (Number.isFinite(x) ? Number(x.toPrecision(4)) : null);

async function readTopk(s: SuiteOutput, p: SuiteOutput['pairs'][number]): Promise<{ k: number; idx: Int32Array; cost: Float32Array } | undefined> {
  const t = p.entry.topk;
  if (!t) return undefined;
  const idx = await readNpy(join(s.out, t.indices)).catch(() => undefined);
  const cost = await readNpy(join(s.out, t.costs)).catch(() => undefined);
  return idx && cost ? { k: t.k, idx: idx.data as Int32Array, cost: cost.data as Float32Array } : undefined;
}

/** Neuronpedia hosts the canonical Gemma Scope releases: gemma-scope-2b-pt-res → gemma-2-2b, {L}-gemmascope-res-{W}. */
function neuronpedia(s: SuiteOutput): ExplorerData['neuronpedia'] {
  const m = /gemma-scope-(2b|9b)-pt-(res|mlp|att)/.exec(basename(s.manifest.source_root));
  const width = s.manifest.width;
  if (!m || !width || s.manifest.layers.some((l) => l.format !== 'gemmascope' || (l.l0_rule !== undefined && l.l0_rule !== 'canonical'))) return undefined;
  return { model: `gemma-2-${m[1]}`, sources: Object.fromEntries(s.manifest.layers.map((l) => [l.layer, `${l.layer}-gemmascope-${m[2]}-${width}`])) };
}

export async function explorerData(s: SuiteOutput, rule: UnmatchedRule): Promise<ExplorerData> {
  const pairs: ExplorerData['pairs'] = [];
  for (const p of s.pairs) {
    const t = await readTopk(s, p);
    const k = t ? Math.min(t.k, EXPLORER_TOPK) : 0;
    const topk = t && k ? {
      k, idx: Array.from({ length: p.perm.length * k }, (_, x) => t.idx[Math.floor(x / k) * t.k + (x % k)]!),
      cost: Array.from({ length: p.perm.length * k }, (_, x) => sig(t.cost[Math.floor(x / k) * t.k + (x % k)]!) ?? -1),
    } : undefined;
    const th = unmatchedThreshold(p, rule);
    pairs.push({ from: p.from, to: p.to, perm: Array.from(p.perm), costs: Array.from(p.costs, sig), threshold: Number.isFinite(th) ? th : null, ...(topk ? { topk } : {}) });
  }
  const np = neuronpedia(s);
  return { pairs, ...(np ? { neuronpedia: np } : {}) };
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
  /** Deaths and births per pair under the rule. */
  turnover: ReturnType<typeof turnover>;
  explorer: ExplorerData;
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
    flow: await (async () => { const f = flowData(s, life, rule, features); if (f) await addFlowSplits(s, f, rule); return f; })(),
    turnover: turnover(s, rule),
    explorer: await explorerData(s, rule),
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

function explorerHtml(e: ExplorerData): string {
  return `<section><h2>Feature explorer</h2><p>A layer and a feature: its chain backward to where it is born and forward to where it dies, each step's cost` +
    `${e.pairs.some((p) => p.topk) ? ' and top-k alternatives' : ''}${e.neuronpedia ? ', and its Neuronpedia page' : ''}. ` +
    `The page's address takes <code>#layer=L&amp;feature=F</code> too.</p>` +
    `<form id="explorer-form"><label>layer <input id="explorer-layer" type="number" min="0" value="${e.pairs[0]?.from ?? 0}"></label> ` +
    `<label>feature <input id="explorer-feature" type="number" min="0" value="0"></label> <button type="submit">show</button></form>` +
    `<div id="explorer-out"></div>\n<script type="application/json" id="data-explorer" data-plot="explorer">${scriptJson(e)}</script></section>\n`;
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
    section('matched', 'Births and deaths per layer', { pairs: d.matched.pairs, turnover: d.turnover }, `Features of layer l that die (no match under the rule: ${esc(ruleText(d.header.rule))}) and features of layer l+1 born (no matched parent).`),
    explorerHtml(d.explorer),
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
  'section{margin-top:28px}#chart-flow{height:720px}#chart-hybrid{height:420px}' +
  '#explorer-out table{border-collapse:collapse;margin-top:12px}#explorer-out td,#explorer-out th{padding:3px 10px;border-bottom:1px solid #ddd;text-align:left}' +
  '#explorer-out .event{color:#a33;font-weight:600}';

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
    var turn = matched.turnover;
    chart('matched', {
      title: { text: 'Features that die and features born, per pair of layers' }, tooltip: { trigger: 'axis' },
      legend: { top: 28 }, grid: grid, xAxis: Object.assign({ type: 'category', data: turn.map(pairName) }, axisName('pair of layers')),
      yAxis: Object.assign({ type: 'value' }, axisName('features')),
      series: [{ name: 'die at layer l (no match)', type: 'bar', data: turn.map(function (p) { return p.died; }), itemStyle: { color: '#e93' } },
        { name: 'born at layer l+1 (no parent)', type: 'bar', data: turn.map(function (p) { return p.born; }), itemStyle: { color: '#39c' } }]
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
        label: { show: layers <= 12, fontSize: 11 }, data: flow.nodes.map(function (n) { return { name: n.name }; }),
        // Splits and merges (second-best candidates from --topk) are dashed.
        links: flow.links.map(function (k) { return k.split ? Object.assign({}, k, { lineStyle: { type: 'dashed', color: '#c33', opacity: 0.6 } }) : k; }) }]
    });
  }
  // The explorer: a feature's chain backward (inverse perms) and forward, with costs and events.
  var ex = data('explorer');
  if (ex) try {
    var byFrom = {}, byTo = {};
    ex.pairs.forEach(function (p) {
      var inv = new Int32Array(p.costs.length ? Math.max.apply(null, p.perm.concat([0])) + 1 : 0).fill(-1);
      p.perm.forEach(function (j, i) { if (j >= 0 && matchedStep(p, i)) inv[j] = i; });
      p.inverse = inv; byFrom[p.from] = p; byTo[p.to] = p;
    });
    function matchedStep(p, i) { var c = p.costs[i]; return p.perm[i] >= 0 && c !== null && (p.threshold === null || c <= p.threshold); }
    function link(layer, f) {
      var np = ex.neuronpedia;
      return np && np.sources[layer] ? ' <a href="https://www.neuronpedia.org/' + np.model + '/' + np.sources[layer] + '/' + f + '" target="_blank" rel="noopener">Neuronpedia</a>' : '';
    }
    function show(layer, f) {
      var out = document.getElementById('explorer-out');
      var known = byFrom[layer] || byTo[layer];
      if (!known) { out.innerHTML = '<p class="event">no layer ' + layer + ' in this suite</p>'; return; }
      var n = byFrom[layer] ? byFrom[layer].perm.length : byTo[layer].inverse.length;
      if (!(f >= 0 && f < (byFrom[layer] ? byFrom[layer].perm.length : Infinity))) { out.innerHTML = '<p class="event">layer ' + layer + ' has features 0-' + (n - 1) + '</p>'; return; }
      var rows = [], l = layer, x = f, back = [];
      while (byTo[l] && byTo[l].inverse[x] >= 0) { var q = byTo[l]; x = q.inverse[x]; l = q.from; back.unshift([l, x]); }
      var start = back.length ? back[0] : [layer, f];
      l = start[0]; x = start[1];
      var events = byTo[l] ? 'born here' : 'first layer of the suite';
      for (;;) {
        var p = byFrom[l], row = { layer: l, feature: x, cost: null, alts: '', event: events };
        if (p) {
          var ok = matchedStep(p, x);
          row.cost = p.costs[x];
          if (p.topk) { var alts = []; for (var k = 0; k < p.topk.k; k++) { var j = p.topk.idx[x * p.topk.k + k]; if (j >= 0) alts.push(j + ' (' + fmt(p.topk.cost[x * p.topk.k + k]) + ')'); } row.alts = alts.join(', '); }
          if (!ok) row.event = (row.event ? row.event + '; ' : '') + 'dies here (' + (p.perm[x] < 0 ? 'unassigned' : 'cost above the threshold') + ')';
          rows.push(row);
          if (!ok) break;
          x = p.perm[x]; l = p.to; events = '';
        } else { row.event = (row.event ? row.event + '; ' : '') + 'last layer of the suite'; rows.push(row); break; }
      }
      var head = '<tr><th>layer</th><th>feature</th><th>cost to the next layer</th>' + (ex.pairs.some(function (p) { return p.topk; }) ? '<th>top-k candidates (cost)</th>' : '') + '<th></th></tr>';
      out.innerHTML = '<table id="explorer-chain">' + head + rows.map(function (r) {
        var here = r.layer === layer && r.feature === f ? ' style="background:#ffd"' : '';
        return '<tr' + here + ' data-layer="' + r.layer + '" data-feature="' + r.feature + '"><td>' + r.layer + '</td><td>' + r.feature + link(r.layer, r.feature) + '</td><td>' + (r.cost === null ? '-' : fmt(r.cost)) + '</td>' +
          (head.indexOf('top-k') >= 0 ? '<td>' + r.alts + '</td>' : '') + '<td class="event">' + r.event + '</td></tr>';
      }).join('') + '</table>';
    }
    var form = document.getElementById('explorer-form');
    form.addEventListener('submit', function (e) { e.preventDefault(); show(Number(document.getElementById('explorer-layer').value), Number(document.getElementById('explorer-feature').value)); });
    var h = /layer=(\d+).*feature=(\d+)/.exec(location.hash);
    if (h) { document.getElementById('explorer-layer').value = h[1]; document.getElementById('explorer-feature').value = h[2]; show(Number(h[1]), Number(h[2])); }
  } catch (e) { document.getElementById('explorer-out').textContent = 'explorer: ' + e; }
})();
`;
