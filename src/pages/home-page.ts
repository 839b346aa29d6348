import type { ServerConfig } from '../config/types.js';
import { PROGRAM_NAME, VERSION } from '../version.js';
import { escapeHtml, page } from './html.js';
import { hrefOf } from './href.js';
import { playerKind, watchUrl } from './player.js';

const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** Every stream by name, as the original listed them: its /stream/NAME link, and its url as a second link. */
export function renderHomePage(config: ServerConfig): string {
  const streams = Object.values(config.streams)
    .sort(byName)
    .map(
      (s) =>
        `<li><a href="${hrefOf(s.url)}">${escapeHtml(s.name)}</a>` +
        (playerKind(s) === 'none' ? '' : ` · <a href="${hrefOf(watchUrl(s))}">watch</a>`) +
        (s.altUrl === undefined ? '' : ` (alt URL: <a href="${hrefOf(s.altUrl)}">${escapeHtml(s.altUrl)}</a>)`) +
        ` <small>${escapeHtml(s.mimetype)}${s.type === 'shot' ? ', shot' : s.client === 'exclusive' ? ', exclusive' : ''}</small></li>`,
    );
  const disabled = Object.values(config.disabled.streams)
    .sort(byName)
    .map((d) => `<li>${escapeHtml(d.name)} <small class="dead">disabled: ${escapeHtml(d.errors.join('; '))}</small></li>`);
  const items = [...streams, ...disabled].join('\n');
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
