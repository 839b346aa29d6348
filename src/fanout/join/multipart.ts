import type { ContainerParser } from './parser.js';

/**
 * multipart/x-mixed-replace (mpjpeg): a join point is the start of a part
 * delimiter, CRLF included ("\r\n--BOUNDARY": RFC 2046 makes the CRLF part of
 * the delimiter, and ffmpeg's own demuxer only resyncs on it), so the first
 * thing a joiner parses is a whole part. The stream's very first part has
 * no CRLF before it. No header. Only the latest delimiter matters, so each
 * chunk costs one lastIndexOf, plus a tiny search across the chunk seam.
 */
export class MultipartParser implements ContainerParser {
  lastJoin = -1;
  joins = 0;
  private readonly delimiter: Buffer;
  /** The last delimiter.length - 1 bytes seen, for a delimiter cut by a chunk boundary. */
  private tail: Buffer = Buffer.alloc(0);
  private readonly first: Buffer;
  private fed = false;

  constructor(boundary: string) {
    this.delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
    this.first = this.delimiter.subarray(2);
  }

  header(): Buffer | null {
    return null;
  }

  feed(chunk: Buffer, offset: number): void {
    const d = this.delimiter;
    if (!this.fed) {
      this.fed = true;
      if (chunk.length >= this.first.length && chunk.subarray(0, this.first.length).equals(this.first)) this.found(offset);
    }
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
