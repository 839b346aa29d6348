import { escapeHtml } from './html.js';

/**
 * A sparkline as inline SVG: no script, no library, drawn by the server, so
 * the console shows history with JavaScript off too.
 */
const WIDTH = 180;
const HEIGHT = 32;

export function sparkline(values: readonly number[], title: string, slots: number): string {
  const max = Math.max(1, ...values);
  const step = WIDTH / Math.max(1, slots - 1);
  // Newest at the right edge; time not yet sampled stays empty on the left.
  const x0 = WIDTH - (values.length - 1) * step;
  const points = values.map((v, i) => `${(x0 + i * step).toFixed(1)},${(HEIGHT - 1 - (v / max) * (HEIGHT - 2)).toFixed(1)}`);
  const line = points.length > 1 ? `<polyline points="${points.join(' ')}" fill="none" stroke="currentColor" stroke-width="1.5"/>` : '';
  // The title holds a stream's name, which the config may spell any way.
  const label = escapeHtml(title);
  return `<svg class="spark" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="${label}"><title>${label}</title>${line}</svg>`;
}
