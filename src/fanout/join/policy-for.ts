import { RawJoinPolicy, type JoinPolicy } from '../join-policy.js';
import { AudioFrameParser } from './audio-frames.js';
import { ContainerJoinPolicy } from './container-policy.js';
import { FlvParser } from './flv.js';
import { Fmp4Parser } from './fmp4.js';
import { MatroskaParser } from './matroska.js';
import { MpegTsParser } from './mpegts.js';
import { MultipartParser, boundaryOf } from './multipart.js';
import type { ContainerParser } from './parser.js';

/** How a shared stream's late joiners start (the `join:` setting once resolved). */
export type JoinSetting = 'keyframe' | 'next-keyframe' | 'raw';
/** As written in the config: `auto` picks from the mimetype. */
export type JoinOption = JoinSetting | 'auto';

export type Container = 'mpegts' | 'matroska' | 'fmp4' | 'flv' | 'multipart' | 'mp3' | 'adts';

/** Content-Type (no parameters, lower case) -> container with a join parser. */
const BY_TYPE: Record<string, Container> = {
  'video/mp2t': 'mpegts',
  'video/mpegts': 'mpegts',
  'video/mpeg-ts': 'mpegts',
  'video/webm': 'matroska',
  'audio/webm': 'matroska',
  'video/x-matroska': 'matroska',
  'audio/x-matroska': 'matroska',
  'video/mp4': 'fmp4',
  'audio/mp4': 'fmp4',
  'video/x-flv': 'flv',
  'video/flv': 'flv',
  'audio/mpeg': 'mp3',
  'audio/mp3': 'mp3',
  'audio/aac': 'adts',
  'audio/aacp': 'adts',
  'audio/x-aac': 'adts',
};

/** The container a mimetype names, if voyandz can find join points in it. */
export function containerOf(mimetype: string): Container | undefined {
  const type = (mimetype.split(';')[0] ?? '').trim().toLowerCase();
  if (type.startsWith('multipart/')) return boundaryOf(mimetype) === undefined ? undefined : 'multipart';
  return BY_TYPE[type];
}

/** `auto`: keyframe joins for every container voyandz can parse, raw for anything else. */
export function resolveJoin(option: JoinOption | undefined, mimetype: string): JoinSetting {
  if (option !== undefined && option !== 'auto') return option;
  return containerOf(mimetype) === undefined ? 'raw' : 'keyframe';
}

function parserFor(container: Container, mimetype: string): () => ContainerParser {
  switch (container) {
    case 'mpegts':
      return () => new MpegTsParser();
    case 'matroska':
      return () => new MatroskaParser();
    case 'fmp4':
      return () => new Fmp4Parser();
    case 'flv':
      return () => new FlvParser();
    case 'multipart': {
      const boundary = boundaryOf(mimetype) ?? '';
      return () => new MultipartParser(boundary);
    }
    case 'mp3':
    case 'adts':
      return () => new AudioFrameParser(container);
  }
}

/**
 * The join policy of one shared stream (or of one worker's subscription to
 * it: the subscriber runs the same policy over the bytes it gets).
 * `onFallback` is told, once, when the data turns out not to parse.
 */
export function policyFor(mimetype: string, join: JoinSetting, onFallback: (reason: string) => void): JoinPolicy {
  if (join === 'raw') return new RawJoinPolicy();
  const container = containerOf(mimetype);
  if (container === undefined) {
    onFallback(`no join parser for ${mimetype}`);
    return new RawJoinPolicy();
  }
  return new ContainerJoinPolicy(container, join, parserFor(container, mimetype), onFallback);
}
