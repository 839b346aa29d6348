import type { ServerConfig } from '../config/types.js';
import { PROGRAM_NAME, VERSION } from '../version.js';
import { escapeHtml, page } from './html.js';
import { hrefOf } from './href.js';
import { playerKind, watchUrl } from './player.js';

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
/** As the original sorted them: ignoring case (`name.lower()`), then by the name itself. */
const byName = (a: { name: string }, b: { name: string }): number =>
  compare(a.name.toLowerCase(), b.name.toLowerCase()) || compare(a.name, b.name);

/** Every stream by name, as the original listed them: its /stream/NAME link, and its url as a second link; disabled ones in their place. */
export function renderHomePage(config: ServerConfig): string {
  const streams = Object.values(config.streams).map((s) => ({
    name: s.name,
    html:
      `<li><a href="${hrefOf(s.url)}">${escapeHtml(s.name)}</a>` +
      (playerKind(s) === 'none' ? '' : ` · <a href="${hrefOf(watchUrl(s))}">watch</a>`) +
      (s.altUrl === undefined ? '' : ` (alt URL: <a href="${hrefOf(s.altUrl)}">${escapeHtml(s.altUrl)}</a>)`) +
      ` <small>${escapeHtml(s.mimetype)}${s.type === 'shot' ? ', shot' : s.client === 'exclusive' ? ', exclusive' : ''}</small></li>`,
  }));
  const disabled = Object.values(config.disabled.streams).map((d) => ({
    name: d.name,
    html: `<li>${escapeHtml(d.name)} <small class="dead">disabled: ${escapeHtml(d.errors.join('; '))}</small></li>`,
  }));
  const items = [...streams, ...disabled]
    .sort(byName)
    .map((item) => item.html)
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
${items ? `<ul>\n${items}\n</ul>` : '<p>No streams are configured.</p>'}
<p>${links}</p>
<footer><small>${escapeHtml(PROGRAM_NAME)} ${escapeHtml(VERSION)}</small></footer>`,
  );
}
