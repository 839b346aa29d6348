/** Minimal HTML helpers: escaping everything that comes from config or stats. */

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export function formatBitrate(bitsPerSecond: number): string {
  if (bitsPerSecond >= 1e6) return `${(bitsPerSecond / 1e6).toFixed(2)} Mbit/s`;
  return `${(bitsPerSecond / 1e3).toFixed(1)} kbit/s`;
}

export function formatDuration(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `${d > 0 ? `${d}d ` : ''}${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
}

const STYLE = `body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left}
th{background:#f0f0f0}td.n{text-align:right;font-variant-numeric:tabular-nums}
.running{color:#070}.restarting,.dead,.disabled{color:#b00}.idle{color:#777}
.player video,.player img{display:block;max-width:100%;height:auto;background:#000}.player audio{width:100%;max-width:40em}
.top{display:flex;align-items:baseline;gap:1em}.sub{color:#666;margin:.2em 0}
.totals{display:flex;flex-wrap:wrap;gap:.4em 1.5em;margin:.5em 0}.totals dt{font-size:.8em;color:#666}.totals dd{margin:0;font-weight:600}
.totals>div{display:flex;gap:.4em;align-items:baseline}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(17em,1fr));gap:1em;margin-bottom:1.5em}
.card{border:1px solid #ddd;border-radius:6px;padding:.7em;background:#fafafa;min-width:0}
.card h3{margin:.3em 0;font-size:1.05em}.card dl{display:grid;grid-template-columns:auto 1fr;gap:.1em .8em;margin:.4em 0;font-size:.9em}
.card dd{margin:0;font-variant-numeric:tabular-nums;text-align:right}
.thumb{display:block;width:100%;aspect-ratio:16/9;object-fit:cover;background:#222;border-radius:4px}.thumb.none{background:#eee;display:flex;align-items:center;justify-content:center;color:#888;font-size:.85em;text-align:center}
.badge{font-size:.75em;padding:.1em .45em;border-radius:1em;background:#eee;vertical-align:middle}
.badge.running{background:#d8f0d8;color:#060}.badge.restarting,.badge.dead,.badge.disabled{background:#f6d6d6;color:#a00}.badge.starting{background:#fff0c0}
.charts{display:flex;gap:.6em;flex-wrap:wrap}.charts figure{margin:0;color:#36c}.charts figcaption{font-size:.75em;color:#666}
.spark{background:#fff;border:1px solid #e4e4e4;max-width:100%}
pre{white-space:pre-wrap;word-break:break-all;font-size:.78em;background:#f0f0f0;padding:.4em;max-height:12em;overflow:auto}
.scroll{overflow-x:auto}td.ua{max-width:22em;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
td form{margin:0}
@media (max-width:600px){body{margin:.6em}.cards{grid-template-columns:1fr}.thumb.none{aspect-ratio:auto;height:2.5em}
table.clients,table.clients tbody,table.clients tr,table.clients td{display:block}table.clients tr:first-child{display:none}
table.clients tr{border:1px solid #ddd;border-radius:6px;margin:.5em 0;padding:.3em .6em;background:#fafafa}
table.clients td{border:0;padding:.1em 0;text-align:right;max-width:none;white-space:normal;overflow-wrap:anywhere}
table.clients td::before{content:attr(data-label);float:left;margin-right:1em;color:#666}}`;

export function page(title: string, body: string, script = ''): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>${STYLE}</style></head>
<body>${body}${script ? `<script>${script}</script>` : ''}</body></html>
`;
}
