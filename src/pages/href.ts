import { escapeHtml } from './html.js';

/**
 * A path as an href: percent-encoded (names may hold spaces and any
 * letter), then HTML-escaped. The router decodes requests before matching,
 * so `/stream/cam%201` reaches stream "cam 1".
 */
export function hrefOf(path: string): string {
  return escapeHtml(encodeURI(path).replace(/[?#]/g, encodeURIComponent));
}
