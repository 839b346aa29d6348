import type { StreamConfig } from '../config/types.js';
import { containerOf } from '../fanout/join/container.js';

/**
 * How a browser shows a stream: natively in a media element when it can
 * (WebM, fragmented MP4, MP3/AAC, mpjpeg in an <img>), through Media Source
 * Extensions with mpegts.js for MPEG-TS and FLV (no browser plays those in
 * <video>), or not at all (an unknown mimetype: the raw link only).
 */
export type PlayerKind = 'video' | 'audio' | 'image' | 'mse-mpegts' | 'mse-flv' | 'none';

export function playerKind(stream: StreamConfig): PlayerKind {
  const type = (stream.mimetype.split(';')[0] ?? '').trim().toLowerCase();
  if (stream.type === 'shot') return type.startsWith('image/') ? 'image' : 'none';
  switch (containerOf(stream.mimetype)) {
    case 'matroska':
    case 'fmp4':
      return type.startsWith('audio/') ? 'audio' : 'video';
    case 'mp3':
    case 'adts':
      return 'audio';
    case 'multipart':
      return 'image';
    case 'mpegts':
      return 'mse-mpegts';
    case 'flv':
      return 'mse-flv';
    case undefined:
      return type.startsWith('image/') ? 'image' : 'none';
  }
}

/** Where a stream's player page is (a path, not yet encoded: see hrefOf). */
export function watchUrl(stream: StreamConfig): string {
  return `/watch/${stream.name}`;
}
