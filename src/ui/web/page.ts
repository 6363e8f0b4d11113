/**
 * The web view's page: plain HTML, CSS and JavaScript shipped as strings in dist/ (no build step, no
 * framework). Script and styles are separate files so the page runs under a strict CSP ('self' only).
 * The page only draws: the server folds events into a summary (state.ts) and streams it with the log lines.
 */
import type { StageName } from '../../events/types.js';
import { formatMs, STAGE_ORDER } from '../output.js';

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>devloop</title>
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<header>
  <h1>devloop</h1>
  <span id="connection" class="pill">connecting…</span>
  <span id="current"></span>
</header>
<main>
  <section id="artifacts-section">
    <h2>Artifacts</h2>
    <table id="artifacts"><thead><tr><th>image</th><th>state</th><th>image reference</th></tr></thead><tbody></tbody></table>
  </section>
  <section id="workloads-section">
    <h2>Workloads</h2>
    <table id="workloads"><thead><tr><th>workload</th><th>state</th><th>detail</th></tr></thead><tbody></tbody></table>
  </section>
  <section id="forwards-section">
    <h2>Forwards</h2>
    <ul id="forwards"></ul>
  </section>
  <section id="timeline-section" class="wide">
    <h2>Iterations <small>stage times per iteration (summed across artifacts); the tick marks the wall-clock time</small></h2>
    <div id="timeline-wrap"><svg id="timeline" role="img" aria-label="iteration timeline"></svg></div>
    <div id="legend"></div>
    <p id="last-iteration"></p>
  </section>
  <section id="messages-section" class="wide">
    <h2>Messages</h2>
    <ul id="messages"></ul>
  </section>
  <section id="logs-section" class="wide">
    <h2>Logs</h2>
    <div class="log-controls">
      <select id="stream"><option value="">all pods</option></select>
      <input id="search" type="search" placeholder="search logs" autocomplete="off">
      <span id="matches"></span>
    </div>
    <pre id="logs"></pre>
  </section>
</main>
</body>
</html>
`;

export const PAGE_CSS = `
:root { --bg: #0f1115; --panel: #171a21; --line: #262b36; --text: #d7dae0; --dim: #8a90a0; --ok: #3fb950; --err: #f85149; --warn: #d29922; --run: #58a6ff; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text); font: 13px/1.45 system-ui, sans-serif; }
header { display: flex; gap: 12px; align-items: center; padding: 10px 16px; border-bottom: 1px solid var(--line); }
h1 { font-size: 16px; margin: 0; }
h2 { font-size: 13px; margin: 0 0 8px; text-transform: uppercase; letter-spacing: .04em; color: var(--dim); }
h2 small { text-transform: none; letter-spacing: 0; font-weight: normal; }
main { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 12px; padding: 12px 16px; }
section { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; min-width: 0; }
section.wide { grid-column: 1 / -1; }
table { width: 100%; border-collapse: collapse; }
th { text-align: left; color: var(--dim); font-weight: normal; }
td, th { padding: 3px 6px 3px 0; vertical-align: top; }
td.state { white-space: nowrap; }
td .failure { white-space: pre-wrap; font-weight: normal; color: var(--err); }
td.ref { font-family: ui-monospace, monospace; font-size: 11px; word-break: break-all; color: var(--dim); }
ul { list-style: none; margin: 0; padding: 0; }
li { padding: 2px 0; }
a { color: var(--run); }
.pill { border: 1px solid var(--line); border-radius: 10px; padding: 1px 8px; color: var(--dim); }
.pill.live { color: var(--ok); border-color: var(--ok); }
.pill.ended { color: var(--warn); border-color: var(--warn); }
.state { font-weight: 600; }
.state.ok, .state.ready, .state.end { color: var(--ok); }
.state.error, .state.failed { color: var(--err); }
.state.start, .state.running, .state.waiting, .state.reconnecting { color: var(--run); }
.state.skipped, .state.stopped { color: var(--dim); }
.dim { color: var(--dim); }
#timeline-wrap { overflow-x: auto; }
#timeline { display: block; height: 190px; }
#timeline text { fill: var(--dim); font-size: 10px; }
#timeline .bar.error .frame { stroke: var(--err); }
#timeline .bar.running { opacity: .55; }
#timeline .wall { stroke: var(--text); stroke-width: 2; }
#legend { display: flex; flex-wrap: wrap; gap: 10px; margin-top: 4px; color: var(--dim); }
#legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; vertical-align: -1px; }
#messages li.warn { color: var(--warn); }
#messages li.error { color: var(--err); }
#messages .hint { color: var(--dim); margin-left: 8px; }
.log-controls { display: flex; gap: 8px; margin-bottom: 6px; align-items: center; }
select, input { background: var(--bg); color: var(--text); border: 1px solid var(--line); border-radius: 4px; padding: 3px 6px; }
input { width: 260px; }
#logs { margin: 0; height: 320px; overflow: auto; font: 12px/1.4 ui-monospace, monospace; white-space: pre-wrap; word-break: break-all; }
#logs .src { color: var(--run); }
#logs mark { background: #6e5600; color: inherit; }
`;

/** The stage colours; STAGE_ORDER is also the stacking order of a bar. */
const STAGE_COLORS: Record<StageName, string> = {
  compile: '#a371f7',
  build: '#388bfd',
  push: '#39c5cf',
  sync: '#3fb950',
  restart: '#2ea043',
  render: '#8b949e',
  apply: '#d29922',
  prune: '#bb8009',
  status: '#db61a2',
  hook: '#6e7681',
  delete: '#da3633',
};

export const PAGE_JS = String.raw`'use strict';
// Shared with the terminal view (ui/output.ts), so both show durations the same way.
const formatMs = ${formatMs.toString()};
const STAGES = ${JSON.stringify(STAGE_ORDER.map((stage) => [stage, STAGE_COLORS[stage]]))};
const COLORS = new Map(STAGES);
const ORDER = STAGES.map((s) => s[0]);
const MAX_LINES = 5000;
const SHOWN_LINES = 2000;
const SVG = 'http://www.w3.org/2000/svg';

let lines = [];
let summary = null;
let drawnBars = 0;
const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = tag.startsWith('svg:') ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null) continue;
    if (key === 'text') node.textContent = value;
    else node.setAttribute(key, String(value));
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function replaceRows(tbody, rows) {
  tbody.replaceChildren(...rows);
}

function artifactState(a) {
  if (a.error) return ['error', (a.stage || '') + ' failed'];
  if (!a.stage) return ['start', 'pending'];
  if (a.status === 'start') {
    const bytes = a.progress ? ' ' + Math.round((100 * a.progress.current) / Math.max(1, a.progress.total)) + '%' : '';
    return ['start', a.stage + ' running' + bytes];
  }
  if (a.status === 'end') return ['end', a.stage + ' done' + (a.durationMs !== undefined ? ' in ' + formatMs(a.durationMs) : ''), a.detail];
  if (a.status === 'error') return ['error', a.stage + ' failed'];
  return ['skipped', a.stage + ' skipped' + (a.detail ? ' (' + a.detail + ')' : '')];
}

function renderArtifacts() {
  const rows = summary.artifacts.map((a) => {
    const [cls, text, detail] = artifactState(a);
    return el('tr', { 'data-image': a.image },
      el('td', { text: a.image }),
      el('td', { class: 'state ' + cls, text: text, title: detail || '' }, a.error ? el('div', { class: 'failure', text: a.error }) : null),
      el('td', { class: 'ref', text: a.tag ? a.tag + (a.cached ? ' (cached)' : '') : '' }));
  });
  if (rows.length === 0) rows.push(el('tr', {}, el('td', { class: 'dim', colspan: 3, text: 'nothing built yet' })));
  replaceRows($('artifacts').tBodies[0], rows);
}

function renderWorkloads() {
  const rows = summary.workloads.map((w) =>
    el('tr', { 'data-resource': w.resource },
      el('td', { text: w.resource + (w.namespace ? ' (' + w.namespace + ')' : '') }),
      el('td', { class: 'state ' + w.state, text: w.state }),
      el('td', { class: 'dim', text: w.message })));
  if (rows.length === 0) rows.push(el('tr', {}, el('td', { class: 'dim', colspan: 3, text: 'nothing deployed yet' })));
  replaceRows($('workloads').tBodies[0], rows);
}

function renderForwards() {
  const items = summary.forwards.map((f) => {
    const link = f.status === 'ready' || f.status === 'reconnecting' ? el('a', { href: f.url, target: '_blank', rel: 'noopener noreferrer', text: f.url }) : el('span', { class: 'dim', text: f.url });
    return el('li', { 'data-resource': f.resource },
      el('span', { text: f.resource + ':' + f.port + ' → ' }), link,
      el('span', { class: 'state ' + f.status, text: ' ' + f.status }),
      el('span', { class: 'dim', text: (f.pod ? ' ' + f.pod : '') + (f.message ? ' — ' + f.message : '') }));
  });
  if (items.length === 0) items.push(el('li', { class: 'dim', text: 'no forwards yet (portForward: in devloop.yaml, or --port-forward)' }));
  $('forwards').replaceChildren(...items);
}

function stageTotals(it) {
  const totals = new Map();
  for (const s of it.stages) totals.set(s.stage, (totals.get(s.stage) || 0) + s.durationMs);
  return ORDER.filter((stage) => totals.has(stage)).map((stage) => [stage, totals.get(stage)]);
}

function elapsed(it) {
  if (it.durationMs !== undefined) return it.durationMs;
  return Math.max(0, Date.now() - Date.parse(it.startedAt));
}

function renderTimeline() {
  const svg = $('timeline');
  const its = summary.iterations;
  const top = 24, bottom = 18, height = 190, plot = height - top - bottom, barW = 26, gap = 12, left = 44;
  const max = Math.max(1, ...its.map((it) => Math.max(elapsed(it), stageTotals(it).reduce((n, s) => n + s[1], 0))));
  const width = Math.max(300, left + its.length * (barW + gap) + gap);
  svg.setAttribute('viewBox', '0 0 ' + width + ' ' + height);
  svg.setAttribute('width', String(width));
  const y = (ms) => top + plot - (plot * ms) / max;
  const nodes = [
    el('svg:line', { x1: left - 4, x2: width, y1: top + plot, y2: top + plot, stroke: '#262b36' }),
    el('svg:text', { x: left - 6, y: top + 4, 'text-anchor': 'end', text: formatMs(max) }),
    el('svg:text', { x: left - 6, y: top + plot, 'text-anchor': 'end', text: '0' }),
  ];
  its.forEach((it, i) => {
    const x = left + gap + i * (barW + gap);
    const g = el('svg:g', { class: 'bar ' + it.status, 'data-n': it.n });
    let acc = 0;
    for (const [stage, ms] of stageTotals(it)) {
      const rect = el('svg:rect', { class: 'segment', 'data-stage': stage, x: x, y: y(acc + ms), width: barW, height: Math.max(1, (plot * ms) / max), fill: COLORS.get(stage) || '#888' });
      rect.append(el('svg:title', { text: 'iteration ' + it.n + ': ' + stage + ' ' + formatMs(ms) }));
      g.append(rect);
      acc += ms;
    }
    const total = elapsed(it);
    const frame = el('svg:rect', { class: 'frame', x: x - 1, y: y(Math.max(acc, total)), width: barW + 2, height: (plot * Math.max(acc, total)) / max, fill: 'none', stroke: 'transparent' });
    frame.append(el('svg:title', { text: 'iteration ' + it.n + ' ' + it.status + ' in ' + formatMs(total) + (it.reason ? ': ' + it.reason : '') + (it.error ? ' — ' + it.error : '') }));
    g.append(frame);
    g.append(el('svg:line', { class: 'wall', x1: x - 3, x2: x + barW + 3, y1: y(total), y2: y(total) }));
    g.append(el('svg:text', { x: x + barW / 2, y: height - 4, 'text-anchor': 'middle', text: String(it.n) }));
    g.append(el('svg:text', { class: 'total', x: x + barW / 2, y: y(Math.max(acc, total)) - 4, 'text-anchor': 'middle', text: formatMs(total) }));
    nodes.push(g);
  });
  svg.replaceChildren(...nodes);
  // Keep the newest iterations in sight once the bars outgrow the panel.
  const wrap = $('timeline-wrap');
  if (its.length !== drawnBars) wrap.scrollLeft = wrap.scrollWidth;
  drawnBars = its.length;
  const used = new Set(its.flatMap((it) => it.stages.map((s) => s.stage)));
  $('legend').replaceChildren(...STAGES.filter(([stage]) => used.has(stage)).map(([stage, color]) => {
    const swatch = el('i');
    swatch.style.background = color;
    return el('span', {}, swatch, stage);
  }));
  const last = its[its.length - 1];
  $('last-iteration').textContent = last ? describe(last, its[its.length - 2]) : 'no iteration yet';
}

function describe(it, previous) {
  const what = it.status === 'running' ? 'running for ' + formatMs(elapsed(it)) : (it.status === 'ok' ? 'ok in ' : 'failed after ') + formatMs(it.durationMs || 0);
  let text = 'iteration ' + it.n + ' ' + what + (it.reason ? ' — ' + it.reason : '') + (it.error ? ' — ' + it.error : '');
  if (it.status !== 'running' && previous && previous.durationMs !== undefined) {
    const delta = (it.durationMs || 0) - previous.durationMs;
    text += ' (' + (delta >= 0 ? '+' : '−') + formatMs(Math.abs(delta)) + ' vs iteration ' + previous.n + ')';
  }
  return text;
}

function renderMessages() {
  const items = summary.messages.slice(-12).reverse().map((m) =>
    el('li', { class: m.level }, el('span', { class: 'dim', text: m.time.slice(11, 19) + ' ' }), el('span', { text: (m.code ? m.code + ': ' : '') + m.message }), m.hint ? el('span', { class: 'hint', text: 'hint: ' + m.hint }) : null));
  $('messages').replaceChildren(...items);
}

function streamKey(l) {
  return l.pod + '/' + (l.container || '');
}

function renderStreams() {
  const select = $('stream');
  const chosen = select.value;
  const options = [el('option', { value: '', text: 'all pods' })].concat(summary.streams.map((s) =>
    el('option', { value: s.pod + '/' + (s.container || ''), text: s.pod + (s.container ? ' / ' + s.container : '') + ' (' + s.seen + ')' })));
  select.replaceChildren(...options);
  select.value = options.some((o) => o.value === chosen) ? chosen : '';
}

function renderCurrent() {
  const last = summary.iterations[summary.iterations.length - 1];
  const node = $('current');
  if (!last) { node.textContent = ''; return; }
  node.className = 'state ' + last.status;
  node.textContent = 'iteration ' + last.n + ': ' + last.status + (last.reason ? ' — ' + last.reason : '');
}

function matches(l, stream, query) {
  if (stream && streamKey(l) !== stream) return false;
  return !query || l.line.toLowerCase().includes(query);
}

function lineNode(l, query) {
  const row = el('div', { class: 'line' }, el('span', { class: 'src', text: '[' + l.pod + (l.container ? '/' + l.container : '') + '] ' }));
  if (!query) row.append(l.line);
  else {
    const lower = l.line.toLowerCase();
    let at = 0;
    for (let i = lower.indexOf(query); i !== -1; i = lower.indexOf(query, at)) {
      row.append(l.line.slice(at, i), el('mark', { text: l.line.slice(i, i + query.length) }));
      at = i + query.length;
    }
    row.append(l.line.slice(at));
  }
  return row;
}

function renderLogs() {
  const stream = $('stream').value;
  const query = $('search').value.trim().toLowerCase();
  const shown = lines.filter((l) => matches(l, stream, query));
  const pre = $('logs');
  pre.replaceChildren(...shown.slice(-SHOWN_LINES).map((l) => lineNode(l, query)));
  $('matches').textContent = query ? shown.length + ' matching line' + (shown.length === 1 ? '' : 's') : '';
  pre.scrollTop = pre.scrollHeight;
}

function appendLine(l) {
  lines.push(l);
  if (lines.length > MAX_LINES) lines.splice(0, lines.length - MAX_LINES);
  const stream = $('stream').value;
  const query = $('search').value.trim().toLowerCase();
  if (!matches(l, stream, query)) return;
  const pre = $('logs');
  const atBottom = pre.scrollHeight - pre.scrollTop - pre.clientHeight < 24;
  pre.append(lineNode(l, query));
  while (pre.childElementCount > SHOWN_LINES) pre.firstElementChild.remove();
  if (query) $('matches').textContent = lines.filter((x) => matches(x, stream, query)).length + ' matching lines';
  if (atBottom) pre.scrollTop = pre.scrollHeight;
}

function render() {
  renderCurrent();
  renderArtifacts();
  renderWorkloads();
  renderForwards();
  renderTimeline();
  renderMessages();
  renderStreams();
}

function connect() {
  const source = new EventSource('/events');
  const pill = $('connection');
  source.addEventListener('open', () => { pill.textContent = 'live'; pill.className = 'pill live'; });
  source.addEventListener('summary', (e) => { summary = JSON.parse(e.data); render(); });
  source.addEventListener('logs', (e) => { lines = JSON.parse(e.data); renderLogs(); });
  source.addEventListener('log', (e) => appendLine(JSON.parse(e.data)));
  source.addEventListener('end', () => { source.close(); pill.textContent = 'session ended'; pill.className = 'pill ended'; });
  source.addEventListener('error', () => { if (source.readyState !== EventSource.CLOSED) { pill.textContent = 'reconnecting…'; pill.className = 'pill'; } else if (pill.className !== 'pill ended') { pill.textContent = 'disconnected'; pill.className = 'pill ended'; } });
}

$('search').addEventListener('input', renderLogs);
$('stream').addEventListener('change', renderLogs);
// A running iteration's bar grows with its elapsed time.
setInterval(() => { if (summary && summary.iterations.some((it) => it.status === 'running')) renderTimeline(); }, 500);
connect();
`;
