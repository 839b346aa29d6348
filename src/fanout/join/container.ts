/**
 * Which container a stream's mimetype names, and what `join: auto` means for
 * it. Kept apart from the parsers: the config resolver needs only this.
 */

/** How a shared stream's late joiners start (the `join:` setting once resolved). */
export type JoinSetting = 'keyframe' | 'next-keyframe' | 'raw';
/** As written in the config: `auto` picks from the mimetype. */
export type JoinOption = JoinSetting | 'auto';

export type Container = 'mpegts' | 'matroska' | 'fmp4' | 'flv' | 'multipart' | 'mp3' | 'adts';

/** Content-Type (no parameters, lower case) -> container with a join parser. */
const BY_TYPE: Record<string, Container> = {
  'video/mp2t': 'mpegts',
  'video/ts': 'mpegts', // what the original voyandz examples use
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
  // The boundary is read from the stream itself (see multipart.ts), so the mimetype need not have one.
  if (type.startsWith('multipart/')) return 'multipart';
  return BY_TYPE[type];
}

/** `auto`: keyframe joins for every container voyandz can parse, raw for anything else. */
export function resolveJoin(option: JoinOption | undefined, mimetype: string): JoinSetting {
  if (option !== undefined && option !== 'auto') return option;
  return containerOf(mimetype) === undefined ? 'raw' : 'keyframe';
}

