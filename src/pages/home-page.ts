import type { ServerConfig } from '../config/types.js';
import { PROGRAM_NAME, VERSION } from '../version.js';
import { escapeHtml, page } from './html.js';
import { playerKind, watchUrl } from './player.js';

export function renderHomePage(config: ServerConfig): string {
  const streams = Object.values(config.streams)
    .map(
      (s) =>
        `<li><a href="${escapeHtml(s.url)}">${escapeHtml(s.name)}</a>` +
        `${playerKind(s) === 'none' ? '' : ` (<a href="${escapeHtml(watchUrl(s))}">watch</a>)`} <small>${escapeHtml(s.mimetype)}` +
        `${s.type === 'shot' ? ', shot' : s.client === 'exclusive' ? ', exclusive' : ''}</small></li>`,
    )
    .join('\n');
  const links = [
    config.pages.stat ? '<a href="/stat">status</a> (<a href="/stat.json">JSON</a>)' : '',
    config.pages.config ? '<a href="/config">config</a>' : '',
    '<a href="/metrics">metrics</a>',
  ]
    .filter(Boolean)
    .join(' · ');
  return page(
    PROGRAM_NAME,
    `<h1>${escapeHtml(PROGRAM_NAME)}</h1>
<h2>Streams</h2>
${streams ? `<ul>\n${streams}\n</ul>` : '<p>No streams are configured.</p>'}
<p>${links}</p>
<footer><small>${escapeHtml(PROGRAM_NAME)} ${escapeHtml(VERSION)}</small></footer>`,
  );
}
