import { RawJoinPolicy, type JoinPolicy } from '../join-policy.js';
import { AudioFrameParser } from './audio-frames.js';
import { ContainerJoinPolicy } from './container-policy.js';
import { FlvParser } from './flv.js';
import { Fmp4Parser } from './fmp4.js';
import { MatroskaParser } from './matroska.js';
import { MpegTsParser } from './mpegts.js';
import { MultipartParser, boundaryOf } from './multipart.js';
import { containerOf, type Container, type JoinSetting } from './container.js';
import type { ContainerParser } from './parser.js';

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
