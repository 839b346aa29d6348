import { RawJoinPolicy, type JoinPolicy } from './policy.js';
import { AudioFrameParser } from './audio-frames.js';
import { ContainerJoinPolicy, type JoinMode, type StreamSignature } from './container-policy.js';
import { FlvParser } from './flv.js';
import { Fmp4Parser } from './fmp4.js';
import { MatroskaParser } from './matroska.js';
import { MpegTsParser } from './mpegts.js';
import { MultipartParser, boundaryOf } from './multipart.js';
import { containerOf, type Container, type JoinSetting } from './container.js';
import type { ContainerParser } from './parser.js';
import { SniffingJoinPolicy } from './sniffing-policy.js';

/** The program writes another multipart boundary than its mimetype declares (`declared`: undefined when it declares none). */
export type BoundaryMismatch = (written: string, declared: string | undefined) => void;

function parserFor(container: Container, mimetype: string, onBoundary: BoundaryMismatch, burstSeconds = 0): () => ContainerParser {
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
      const declared = boundaryOf(mimetype);
      // Once per policy, not once per program restart.
      let told = false;
      const tell = (written: string): void => {
        if (told) return;
        told = true;
        onBoundary(written, declared);
      };
      return () => new MultipartParser(declared, tell);
    }
    case 'mp3':
    case 'adts':
      return () => new AudioFrameParser(container, burstSeconds);
  }
}

const EBML_MAGIC = Buffer.from([0x1a, 0x45, 0xdf, 0xa3]);

function signatureOf(container: Container): StreamSignature | undefined {
  switch (container) {
    case 'matroska':
      return { strong: true, test: (c) => c.length >= 4 && c.subarray(0, 4).equals(EBML_MAGIC) };
    case 'fmp4':
      return { strong: true, test: (c) => c.length >= 8 && c.toString('latin1', 4, 8) === 'ftyp' };
    case 'flv':
      return { strong: true, test: (c) => c.length >= 4 && c.toString('latin1', 0, 3) === 'FLV' && c[3] === 1 };
    case 'mpegts':
      return { strong: false, test: (c) => c[0] === 0x47 && (c.length <= 188 || c[188] === 0x47) };
    case 'mp3':
      return { strong: false, test: (c) => c.toString('latin1', 0, 3) === 'ID3' || (c[0] === 0xff && (c[1] & 0xe0) === 0xe0) };
    case 'adts':
      return { strong: false, test: (c) => c[0] === 0xff && (c[1] & 0xf6) === 0xf0 };
    case 'multipart':
      return { strong: false, test: (c) => c.toString('latin1', 0, 2) === '--' };
  }
}

/**
 * The join policy of a feed: readers (stream programs, shots, chained feeds)
 * start at a boundary with the header. `format` names the container, or
 * `auto` recognises it from the first bytes of each run.
 */
export function feedPolicyFor(format: Container | 'auto' | 'raw', onFallback: (reason: string) => void): JoinPolicy {
  if (format === 'auto') return sniffingPolicy('keyframe', onFallback, 0);
  return format === 'raw' ? new RawJoinPolicy() : containerPolicy(format, 'keyframe', onFallback, 0);
}

/**
 * The join policy of a pulled stream with no mimetype of its own: like a
 * feed's, its container is recognised from the first bytes of each run (they
 * are what its origin's Content-Type names).
 */
export function sniffedStreamPolicyFor(join: JoinSetting, onFallback: (reason: string) => void, burstSeconds = 0): JoinPolicy {
  return join === 'raw' ? new RawJoinPolicy() : sniffingPolicy(join, onFallback, burstSeconds);
}

function sniffingPolicy(mode: JoinMode, onFallback: (reason: string) => void, burstSeconds: number): JoinPolicy {
  return new SniffingJoinPolicy((container) => (container === 'raw' ? new RawJoinPolicy() : containerPolicy(container, mode, onFallback, burstSeconds)));
}

/** With no mimetype to declare one, the multipart parser learns the boundary from the first delimiter. */
function containerPolicy(container: Container, mode: JoinMode, onFallback: (reason: string) => void, burstSeconds: number): JoinPolicy {
  return new ContainerJoinPolicy(container, mode, parserFor(container, '', () => undefined, burstSeconds), onFallback, signatureOf(container));
}

/**
 * The join policy of one shared stream (or of one worker's subscription to
 * it: the subscriber runs the same policy over the bytes it gets).
 * `onFallback` is told, once, when the data turns out not to parse;
 * `onBoundary` when a multipart stream's boundary is not its mimetype's.
 * `burstSeconds`: MP3/ADTS joiners start this much audio in the past.
 */
export function policyFor(
  mimetype: string,
  join: JoinSetting,
  onFallback: (reason: string) => void,
  onBoundary: BoundaryMismatch = () => undefined,
  burstSeconds = 0,
): JoinPolicy {
  if (join === 'raw') return new RawJoinPolicy();
  const container = containerOf(mimetype);
  if (container === undefined) {
    onFallback(`no join parser for ${mimetype}`);
    return new RawJoinPolicy();
  }
  return new ContainerJoinPolicy(container, join, parserFor(container, mimetype, onBoundary, burstSeconds), onFallback, signatureOf(container));
}
