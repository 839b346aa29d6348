import type { ClusterStats } from '../stats/cluster-stats.js';
import { escapeHtml, formatBitrate, formatBytes, formatDuration, page } from './html.js';
import { hrefOf } from './href.js';

const td = (value: string | number, numeric = false): string =>
  `<td${numeric ? ' class="n"' : ''}>${escapeHtml(String(value))}</td>`;

const state = (value: string, error?: string): string =>
  `<td class="${escapeHtml(value)}">${escapeHtml(value)}${error === undefined ? '' : `<br><small>${escapeHtml(error)}</small>`}</td>`;

const link = (path: string, text: string): string => `<a href="${hrefOf(path)}">${escapeHtml(text)}</a>`;

/** Works without JavaScript; with it, the page refreshes itself every 5 s. */
export function renderStatPage(stats: ClusterStats): string {
  const s = stats.server;
  const streams = stats.streams
    .map(
      (r) =>
        `<tr><td>${link(r.url, r.name)}${r.altUrl === undefined ? '' : `<br><small>${link(r.altUrl, r.altUrl)}</small>`}</td>` +
        `${td(r.type === 'shot' ? 'shot' : r.client)}${td(r.feed ?? '—')}${state(r.state, r.error)}${td(r.pid ?? '—', true)}${td(r.clients, true)}${td(formatBytes(r.bytesSent), true)}` +
        `${td(formatBitrate(r.bitrate), true)}${td(r.restarts, true)}${td(r.droppedForLag, true)}</tr>`,
    )
    .join('\n');
  const feeds = stats.feeds
    .map(
      (r) =>
        `<tr>${td(r.name)}${td(r.mode)}${td(r.feed ?? '—')}${state(r.state, r.error)}${td(r.pid ?? '—', true)}` +
        `${td(r.consumers, true)}${td(formatBytes(r.bytesRead), true)}${td(formatBitrate(r.bitrate), true)}${td(r.restarts, true)}</tr>`,
    )
    .join('\n');
  const workers = stats.workers
    .map((w) => `<tr>${td(w.id, true)}${td(w.pid, true)}${td(w.clients, true)}${td(formatBytes(w.rss), true)}</tr>`)
    .join('\n');
  const clients = stats.clients
    ? `<h2>Clients</h2><table><tr><th>stream</th><th>address</th><th>since</th><th>sent</th><th>worker</th></tr>
${stats.clients
  .map(
    (c) =>
      `<tr>${td(c.stream)}${td(c.remote)}${td(new Date(c.connectedAt).toISOString())}${td(formatBytes(c.bytesSent), true)}${td(c.worker, true)}</tr>`,
  )
  .join('\n')}</table>`
    : '';
  const body = `<h1>${escapeHtml(s.name)} status</h1>
<table>
<tr><th>version</th>${td(s.version)}</tr>
<tr><th>started</th>${td(s.startedAt)}</tr>
<tr><th>now</th>${td(s.now)}</tr>
<tr><th>uptime</th>${td(formatDuration(s.uptimeSeconds))}</tr>
<tr><th>clients</th>${td(stats.totals.clients, true)}</tr>
<tr><th>sent</th>${td(formatBytes(stats.totals.bytesSent), true)}</tr>
<tr><th>output bitrate</th>${td(formatBitrate(stats.totals.bitrate), true)}</tr>
<tr><th>dropped for lag</th>${td(stats.totals.droppedForLag, true)}</tr>
<tr><th>restarts</th>${td(stats.totals.restarts, true)}</tr>
</table>
<h2>Streams</h2>
<table><tr><th>stream</th><th>client</th><th>feed</th><th>state</th><th>pid</th><th>clients</th><th>sent</th><th>bitrate</th><th>restarts</th><th>dropped</th></tr>
${streams}</table>
<h2>Feeds</h2>
<table><tr><th>feed</th><th>mode</th><th>reads</th><th>state</th><th>pid</th><th>consumers</th><th>read</th><th>bitrate</th><th>restarts</th></tr>
${feeds}</table>
<h2>Workers</h2>
<table><tr><th>id</th><th>pid</th><th>clients</th><th>RSS</th></tr>
${workers}</table>
${clients}
<p><a href="/">home</a> · <a href="/stat.json">JSON</a></p>`;
  return page(`${s.name} status`, body, 'setTimeout(function(){location.reload()},5000)');
}
