import { JoinParseError, type ContainerParser } from './parser.js';

/** RFC 2046: a boundary is 1 to 70 characters; the first line may carry transport padding. */
const FIRST_LINE = /^--([^\s]{1,70})[ \t]*$/;
/** The first delimiter line is looked for within this many bytes of the stream's start. */
const MAX_FIRST_LINE = 256;

/**
 * multipart/x-mixed-replace (mpjpeg): a join point is the start of a part
 * delimiter, CRLF included ("\r\n--BOUNDARY": RFC 2046 makes the CRLF part of
 * the delimiter, and ffmpeg's own demuxer only resyncs on it), so the first
 * thing a joiner parses is a whole part. No header.
 *
 * The boundary is the one the program writes, read from its first line
 * ("--ffmpeg"), not the one the mimetype declares: configs of the original
 * voyandz say `boundary=ffserver` where ffmpeg writes `--ffmpeg`, and a
 * parser waiting for the declared one would never find a part. A stream that
 * does not start with a delimiter line is no multipart stream: the parser
 * gives up at once (the policy then joins raw).
 *
 * Only the latest delimiter matters, so each chunk costs one lastIndexOf,
 * plus a tiny search across the chunk seam.
 */
export class MultipartParser implements ContainerParser {
  lastJoin = -1;
  joins = 0;
  /** The first delimiter line, once read: a delimiter that never comes again leaves no join point beyond it. */
  startJoins = 0;
  private delimiter: Buffer | null = null;
  /** The stream's first bytes, until its first line is complete. */
  private start: Buffer = Buffer.alloc(0);
  private startOffset = -1;
  /** The last delimiter.length - 1 bytes seen, for a delimiter cut by a chunk boundary. */
  private tail: Buffer = Buffer.alloc(0);

  /** `onBoundary` hears the boundary the program writes, once, when it differs from `declared`. */
  constructor(
    private readonly declared: string | undefined,
    private readonly onBoundary: (written: string) => void = () => undefined,
  ) {}

  header(): Buffer | null {
    return null;
  }

  feed(chunk: Buffer, offset: number): void {
    if (this.delimiter === null) {
      this.learn(chunk, offset);
      return;
    }
    this.scan(chunk, offset);
  }

  /** Reads the boundary from the first line, then scans what came with it. */
  private learn(chunk: Buffer, offset: number): void {
    if (this.startOffset < 0) this.startOffset = offset;
    this.start = Buffer.concat([this.start, chunk.subarray(0, MAX_FIRST_LINE)]);
    let from = 0;
    // A subscriber of another worker starts at a join point, i.e. after a CRLF.
    while (from < this.start.length && (this.start[from] === 0x0d || this.start[from] === 0x0a)) from++;
    const newline = this.start.indexOf(0x0a, from);
    if (newline < 0) {
      if (this.start.length >= MAX_FIRST_LINE) throw new JoinParseError(`no multipart delimiter line ("--BOUNDARY") in the first ${MAX_FIRST_LINE} bytes`);
      return;
    }
    const line = this.start.toString('latin1', from, newline).replace(/\r$/, '');
    const match = FIRST_LINE.exec(line);
    if (match === null) throw new JoinParseError(`the stream does not start with a multipart delimiter ("--BOUNDARY"): ${JSON.stringify(line.slice(0, 40))}`);
    const boundary = match[1];
    this.delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
    if (boundary !== this.declared) this.onBoundary(boundary);
    this.found(this.startOffset + from);
    this.startJoins = this.joins;
    const seen = this.start;
    this.start = Buffer.alloc(0);
    // Delimiters after the first line in the bytes seen so far (tiny first chunks), then the seam.
    const firstChunkStart = seen.length - Math.min(chunk.length, MAX_FIRST_LINE);
    this.tail = seen.subarray(newline + 1, firstChunkStart);
    this.scan(chunk, offset);
  }

  private scan(chunk: Buffer, offset: number): void {
    const d = this.delimiter;
    if (d === null) return; // not before the first delimiter line was read
    const at = chunk.lastIndexOf(d);
    if (at >= 0) {
      this.found(offset + at);
    } else if (this.tail.length > 0) {
      const seam = Buffer.concat([this.tail, chunk.subarray(0, d.length - 1)]);
      const s = seam.indexOf(d);
      if (s >= 0) this.found(offset - this.tail.length + s);
    }
    const keep = d.length - 1;
    this.tail =
      chunk.length >= keep
        ? Buffer.from(chunk.subarray(chunk.length - keep))
        : Buffer.concat([this.tail, chunk]).subarray(-keep);
  }

  private found(at: number): void {
    if (at <= this.lastJoin) return;
    this.lastJoin = at;
    this.joins++;
  }
}

/** The boundary parameter of a multipart Content-Type, unquoted; undefined when absent. */
export function boundaryOf(mimetype: string): string | undefined {
  const match = /;\s*boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i.exec(mimetype);
  return match?.[1] ?? match?.[2];
}
