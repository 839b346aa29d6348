import type { ServerConfig } from '../config/types.js';
import { entryOf } from '../config/lookup.js';
import type { ClusterStats } from '../stats/cluster-stats.js';
import { HISTORY_SAMPLE_MS, type StatHistory } from '../stats/history.js';
import type { ProgramInfo } from '../stats/types.js';
import { THUMBNAIL_REFRESH_MS } from '../stats/thumbnails.js';
import { escapeHtml, formatBitrate, formatBytes, formatDuration, page } from './html.js';
import { hrefOf } from './href.js';
import { playerKind, watchUrl, type PlayerKind } from './player.js';
import { sparkline } from './sparkline.js';

const SLOTS = (15 * 60 * 1000) / HISTORY_SAMPLE_MS;

const td = (value: string | number, numeric = false): string =>
  `<td${numeric ? ' class="n"' : ''}>${escapeHtml(String(value))}</td>`;

/** A client table cell that names its column: on a phone each client is a block of labelled lines. */
const cell = (label: string, value: string | number, className?: string): string =>
  `<td${className ? ` class="${className}"` : ''} data-label="${escapeHtml(label)}">${escapeHtml(String(value))}</td>`;

const badge = (state: string): string => `<span class="badge ${escapeHtml(state)}">${escapeHtml(state)}</span>`;

const link = (path: string, text: string): string => `<a href="${hrefOf(path)}">${escapeHtml(text)}</a>`;

/** A disabled entry's config errors, where its figures would be. */
const errorText = (error: string | undefined): string => (error === undefined ? '' : `<pre class="dead">${escapeHtml(error)}</pre>`);

const fact = (label: string, value: string | number): string => `<dt>${escapeHtml(label)}</dt><dd>${escapeHtml(String(value))}</dd>`;

/** A label and its value kept together when the totals wrap (a phone). */
const total = (label: string, value: string | number): string => `<div>${fact(label, value)}</div>`;

const ago = (now: number, at: number): string => formatDuration(Math.max(0, Math.round((now - at) / 1000)));

function describeExit(exit: NonNullable<ProgramInfo['lastExit']>, now: number): string {
  return `${exit.signal ?? (exit.code === null ? 'failed' : `code ${exit.code}`)}, ${ago(now, exit.at)} ago`;
}

/** pid (a relay: its URL and error count), uptime, last exit, silence, back-off and the stderr tail (a relay: its last errors) of a feed's or shared stream's producer. */
function programFacts(pid: number | null, restarts: number, program: ProgramInfo | null, now: number): { facts: string; stderr: string } {
  if (!program) return { facts: fact('restarts', restarts), stderr: '' };
  const pull = program.pull;
  const facts = [
    pull === null ? fact('pid', pid ?? '—') : fact('pull', pull.url),
    fact('uptime', program.startedAt === null ? '—' : ago(now, program.startedAt)),
    fact(pull === null ? 'restarts' : 'reconnects', restarts),
    fact('last exit', program.lastExit ? describeExit(program.lastExit, now) : '—'),
    fact('last output', program.secondsSinceOutput === null ? '—' : `${program.secondsSinceOutput.toFixed(1)} s ago`),
  ];
  if (pull !== null) {
    facts.push(fact('serves', pull.contentType ?? '—'));
    const ends = Object.entries(pull.ends).map(([why, count]) => `${why} ${count}`);
    facts.push(fact('pull errors', ends.length === 0 ? 0 : ends.join(', ')));
  }
  if (program.retryAt !== null) facts.push(fact('next retry', `in ${Math.max(0, (program.retryAt - now) / 1000).toFixed(1)} s`));
  const label = pull === null ? 'stderr' : 'last errors';
  const stderr = program.stderrTail.length > 0 ? `<details${pull === null ? '' : ' open'}><summary>${label}</summary><pre>${escapeHtml(program.stderrTail.join('\n'))}</pre></details>` : '';
  return { facts: facts.join(''), stderr };
}

/** Where a stream card has no picture, what the operator should know instead. */
function whyNoThumbnail(row: ClusterStats['streams'][number], kind: PlayerKind, pictured: boolean): string {
  if (kind === 'audio') return 'audio';
  if (!pictured) return 'no picture for this type';
  if (row.type === 'shot') return 'shot: one picture per request';
  if (row.client === 'exclusive') return 'one program per viewer: no preview';
  return row.state === 'idle' ? 'idle: starts with its first viewer' : row.state;
}

/** A thumbnail that cannot be had (a program just stopped, no keyframe yet): an empty box, not a broken image. */
const NO_PICTURE_YET = "this.removeAttribute('src');this.className='thumb none'";

/** The sparkline's scale: its highest value. */
const peak = (values: readonly number[], format: (value: number) => string): string =>
  values.length === 0 ? '' : ` · max ${escapeHtml(format(Math.max(...values)))}`;

function streamCard(row: ClusterStats['streams'][number], config: ServerConfig, history: StatHistory, now: number): string {
  const stream = entryOf(config.streams, row.name);
  const kind = stream ? playerKind(stream) : 'none';
  const shared = row.client === 'shared' && row.type === 'stream';
  // A picture only where there is one, and only of a program that runs.
  const pictured = kind === 'video' || kind === 'image' || kind.startsWith('mse');
  const thumb =
    shared && pictured && row.state === 'running'
      ? `<img class="thumb" alt="" loading="lazy" src="/stat/thumb/${encodeURIComponent(row.name)}.jpg?t=${Math.floor(now / THUMBNAIL_REFRESH_MS)}" onerror="${NO_PICTURE_YET}">`
      : `<div class="thumb none">${escapeHtml(whyNoThumbnail(row, kind, pictured))}</div>`;
  const samples = history.of(row.name);
  const clients = samples.map((s) => s.clients);
  const bitrates = samples.map((s) => s.bitrate);
  const program = programFacts(row.pid, row.restarts, row.program, now);
  const watch = stream && kind !== 'none' ? ` · ${link(watchUrl(stream), 'watch')}` : '';
  return `<article class="card" id="stream-${escapeHtml(row.name)}">${thumb}
<h3>${link(row.url, row.name)}${watch} ${badge(row.state)}</h3>
<p class="sub">${escapeHtml(row.type === 'shot' ? 'shot' : row.client)}${row.feed ? ` · feed ${escapeHtml(row.feed)}` : ''}${row.altUrl === undefined ? '' : ` · ${link(row.altUrl, row.altUrl)}`}</p>${errorText(row.error)}
<dl>${fact('clients', row.clients)}${fact('bitrate', formatBitrate(row.bitrate))}${fact('sent', formatBytes(row.bytesSent))}${fact('dropped for lag', row.droppedForLag)}
${program.facts}</dl>${program.stderr}
<div class="charts"><figure>${sparkline(clients, `${row.name}: clients, last 15 min`, SLOTS)}<figcaption>clients, 15 min${peak(clients, String)}</figcaption></figure>
<figure>${sparkline(bitrates, `${row.name}: bitrate, last 15 min`, SLOTS)}<figcaption>bitrate, 15 min${peak(bitrates, formatBitrate)}</figcaption></figure></div>
</article>`;
}

function feedCard(row: ClusterStats['feeds'][number], now: number): string {
  const program = programFacts(row.pid, row.restarts, row.program, now);
  return `<article class="card" id="feed-${escapeHtml(row.name)}">
<h3>${escapeHtml(row.name)} ${badge(row.state)}</h3>
<p class="sub">${escapeHtml(row.mode)}${row.feed ? ` · reads ${escapeHtml(row.feed)}` : ''}</p>${errorText(row.error)}
<dl>${fact('consumers', row.consumers)}${fact('bitrate', formatBitrate(row.bitrate))}${fact('read', formatBytes(row.bytesRead))}
${program.facts}</dl>${program.stderr}
</article>`;
}

function clientsTable(clients: NonNullable<ClusterStats['clients']>, now: number): string {
  const rows = clients
    .map(
      (c) =>
        `<tr>${cell('address', c.remote)}${cell('User-Agent', c.userAgent || '—', 'ua')}${cell('stream', c.stream)}${cell('worker', c.worker, 'n')}` +
        `${cell('connected', ago(now, c.connectedAt), 'n')}${cell('sent', formatBytes(c.bytesSent), 'n')}${cell('rate', formatBitrate(c.bitrate), 'n')}` +
        cell('lag', `${(c.lagMs / 1000).toFixed(1)} s`, 'n') +
        `<td class="kick"><form method="post" action="/admin/clients/${c.id}/kick"><button type="submit">kick</button></form></td></tr>`,
    )
    .join('\n');
  return `<h2>Clients</h2><div class="scroll"><table class="clients"><tr><th>address</th><th>User-Agent</th><th>stream</th><th>worker</th><th>connected</th><th>sent</th><th>rate</th><th>lag</th><th></th></tr>
${rows || '<tr><td colspan="9">no clients</td></tr>'}</table></div>`;
}

/**
 * In place, once a second, while the tab is visible: the same page, fetched
 * again (with its query: a signed URL's signature), its console swapped in,
 * keeping what the operator opened (stderr boxes) and where they scrolled a
 * wide table to. Anything but a page says offline.
 */
const LIVE_SCRIPT = `(function(){
var busy=false;
setInterval(function(){
if(busy||document.hidden)return;busy=true;
fetch(location.pathname+location.search,{cache:'no-store'}).then(function(r){if(!r.ok)throw r.status;return r.text()}).then(function(html){
var next=new DOMParser().parseFromString(html,'text/html').getElementById('console');
var open={};document.querySelectorAll('#console details[open]').forEach(function(d){open[d.closest('[id]').id]=1});
var scrolled=[].map.call(document.querySelectorAll('#console .scroll'),function(e){return e.scrollLeft});
if(next){document.getElementById('console').replaceWith(next);next.querySelectorAll('details').forEach(function(d){if(open[d.closest('[id]').id])d.open=true});
next.querySelectorAll('.scroll').forEach(function(e,i){if(scrolled[i])e.scrollLeft=scrolled[i]});}
document.getElementById('live').textContent='live';
}).catch(function(){document.getElementById('live').textContent='offline';}).then(function(){busy=false});
},1000);
})();`;

/** Threads have no RSS of their own: the process's (primary and workers) is shown once. */
function workersLine(s: ClusterStats['server']): string {
  return s.workerMode === 'thread'
    ? `worker mode: thread · ${s.workers} threads of process ${s.pid} · process RSS ${escapeHtml(formatBytes(s.rss))}`
    : `worker mode: process · primary ${s.pid} RSS ${escapeHtml(formatBytes(s.rss))}`;
}

/** The operator's console: complete without JavaScript; with it, it updates in place every second. */
export function renderStatPage(stats: ClusterStats, config: ServerConfig, history: StatHistory): string {
  const s = stats.server;
  const now = Date.parse(s.now);
  const workers = stats.workers
    .map((w) => `<tr>${td(w.id, true)}${td(w.threadId === null ? String(w.pid) : `${w.pid} thread ${w.threadId}`, true)}${td(w.clients, true)}${td(`${Math.round(w.load * 100)} %`, true)}${td(w.rss === null ? '—' : formatBytes(w.rss), true)}${td(w.restarts, true)}</tr>`)
    .join('\n');
  const body = `<header class="top"><h1>${escapeHtml(s.name)}</h1><span id="live" class="sub">static</span></header>
<main id="console">
<dl class="totals">${total('version', s.version)}${total('uptime', formatDuration(s.uptimeSeconds))}${total('clients', stats.totals.clients)}${total('output', formatBitrate(stats.totals.bitrate))}${total('sent', formatBytes(stats.totals.bytesSent))}${total('dropped for lag', stats.totals.droppedForLag)}${total('restarts', stats.totals.restarts)}</dl>
<p class="sub">started ${escapeHtml(s.startedAt)} · now ${escapeHtml(s.now)}</p>
<h2>Streams</h2>
<section class="cards">${stats.streams.map((r) => streamCard(r, config, history, now)).join('\n')}</section>
<h2>Feeds</h2>
<section class="cards">${stats.feeds.map((r) => feedCard(r, now)).join('\n') || '<p>No feeds.</p>'}</section>
<h2>Workers</h2>
<p class="sub">${workersLine(s)}</p>
<div class="scroll"><table><tr><th>id</th><th>pid</th><th>clients</th><th>load</th><th>RSS</th><th>restarts</th></tr>
${workers}</table></div>
${stats.clients ? clientsTable(stats.clients, now) : ''}
</main>
<p><a href="/">home</a> · <a href="/stat.json">JSON</a> · <a href="/metrics">metrics</a></p>`;
  return page(`${s.name} status`, body, LIVE_SCRIPT);
}
