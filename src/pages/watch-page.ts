import type { StreamConfig } from '../config/types.js';
import { escapeHtml, page } from './html.js';
import { hrefOf } from './href.js';
import { playerKind } from './player.js';

/** Served by voyandz from node_modules: a player page never loads anything from elsewhere. */
export const MPEGTS_JS_URL = '/assets/mpegts.js';

function element(stream: StreamConfig): string {
  const src = hrefOf(stream.url);
  switch (playerKind(stream)) {
    case 'video':
      return `<video id="player" src="${src}" controls autoplay muted playsinline></video>`;
    case 'audio':
      return `<audio id="player" src="${src}" controls autoplay></audio>`;
    case 'image':
      return `<img id="player" src="${src}" alt="${escapeHtml(stream.name)}">`;
    case 'mse-mpegts':
    case 'mse-flv':
      return `<video id="player" controls autoplay muted playsinline data-src="${src}"></video>
<noscript><p>MPEG-TS and FLV play in a browser only with JavaScript (Media Source Extensions).</p></noscript>`;
    case 'none':
      return `<p>Browsers cannot play <code>${escapeHtml(stream.mimetype)}</code>; open the link in a player (VLC, mpv, ffplay).</p>`;
  }
}

/**
 * mpegts.js demuxes in the page and feeds the <video> through MSE; it chases
 * the live edge, since a live stream has no end to buffer towards.
 */
function mseScript(type: 'mpegts' | 'flv'): string {
  return `(function(){
var v=document.getElementById('player');var note=document.getElementById('note');
if(!window.mpegts||!mpegts.getFeatureList().mseLivePlayback){note.textContent='This browser has no Media Source Extensions: open the link in a player.';return;}
var p=mpegts.createPlayer({type:'${type}',isLive:true,url:new URL(v.dataset.src,location.href).href},{enableStashBuffer:false,liveBufferLatencyChasing:true,lazyLoad:false});
p.on(mpegts.Events.ERROR,function(kind,detail){note.textContent='Playback error: '+kind+' '+detail;});
p.attachMediaElement(v);p.load();var r=p.play();if(r&&r.catch)r.catch(function(){});
})();`;
}

export function renderWatchPage(stream: StreamConfig): string {
  const kind = playerKind(stream);
  const mse = kind === 'mse-mpegts' || kind === 'mse-flv';
  const body = `<h1>${escapeHtml(stream.name)}</h1>
<div class="player player-${kind}">${element(stream)}</div>
<p id="note"></p>
<p><a href="${hrefOf(stream.url)}">${escapeHtml(stream.url)}</a> <small>${escapeHtml(stream.mimetype)}</small> · <a href="/">home</a></p>
${mse ? `<script src="${MPEGTS_JS_URL}"></script>` : ''}`;
  return page(stream.name, body, mse ? mseScript(kind === 'mse-flv' ? 'flv' : 'mpegts') : '');
}
