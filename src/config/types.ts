/**
 * The resolved config: what every part of voyandz after the loader sees.
 * Defaults are applied, commands are split into argv, URLs are filled in,
 * references are checked. Plain data only: it crosses process boundaries
 * (primary -> workers) as JSON.
 */
import type { Container, JoinSetting } from '../fanout/join/container.js';
import type { AccessSettings } from './access-types.js';

export type FeedMode = 'on-demand' | 'continuous' | 'autostart' | { lingerSeconds: number };

/**
 * Whether a program that exits while it is needed is started again:
 * `always`, `on-failure` (not after exit code 0: a finite clip ends) or
 * `never`. A program not started again ends its readers' responses.
 */
export type ResurrectMode = 'always' | 'on-failure' | 'never';

/**
 * A relay: the bytes come from an HTTP GET of `url` instead of a program's
 * stdout. An entry with `pull` has an empty command and argv.
 */
export interface PullConfig {
  url: string;
  /** Request headers, lower-case names: the top-level pull_headers with the entry's own over them. */
  headers: Record<string, string>;
}

export interface FeedConfig {
  name: string;
  /** The command as written (after templating), for /config and logs; empty for a pulled feed. */
  command: string;
  /** The command split like a POSIX shell splits words; run without a shell. */
  argv: string[];
  /** Set for a relay: the feed's bytes are pulled from a URL, no program runs. */
  pull?: PullConfig;
  mode: FeedMode;
  /** Parent feed whose bytes this feed's program reads on stdin. */
  feed?: string;
  /** Kill and restart the program after this long without output; 0: never. */
  stallTimeoutSeconds: number;
  /** How programs reading it find a boundary to start at. */
  format: FeedFormat;
  /** When the program is restarted after it ends by itself. */
  resurrect: ResurrectMode;
}

type FeedFormat = 'auto' | 'raw' | Container;

type StreamType = 'stream' | 'shot';
type ClientMode = 'shared' | 'exclusive';

/** One feed of a multi-feed stream: `alias` is how the command names it (${feeds.ALIAS}). */
export interface StreamInput {
  alias: string;
  feed: string;
}

export interface StreamConfig {
  name: string;
  /** As written (after templating): a multi-feed stream's ${feeds.NAME} placeholders are kept here, replaced in argv. Empty for a pulled stream. */
  command: string;
  argv: string[];
  /** Set for a relay: the stream is pulled from a URL and served as it comes, no program runs. */
  pull?: PullConfig;
  type: StreamType;
  /** The Content-Type served; empty for a pulled stream that takes its origin's (known once it answered, see learnt-mimetypes.ts). */
  mimetype: string;
  /** Shared streams: when the program (or pull) runs, as for feeds. */
  mode: FeedMode;
  /** Feed whose bytes reach the program on stdin; absent: the program runs on its own. */
  feed?: string;
  /** Feeds whose bytes reach the program on pipes fd 3, 4, … in this order (`feeds:`); absent when none. */
  inputs?: StreamInput[];
  client: ClientMode;
  /** `/stream/NAME`: every stream is served there. */
  url: string;
  /** The `url:` of the config, starting with '/': a second path the stream is served at. */
  altUrl?: string;
  resurrect: ResurrectMode;
  /** Clients more than this many seconds of stream data behind are dropped. */
  maxLagSeconds: number;
  /** Shot streams only: time limit before answering 504 and killing the program. */
  shotTimeoutSeconds: number;
  /** Shared streams: where late joiners start (`auto` resolved from the mimetype). */
  join: JoinSetting;
  /** Shared streams: a client more than maxLagSeconds behind is dropped, or skips to the latest join point. */
  lagPolicy: 'drop' | 'skip';
  /** MP3/ADTS shared streams: seconds of audio a joiner starts before the latest frame (at most maxLagSeconds). */
  burstSeconds: number;
  /** A client waits this long for the stream's first byte before a 504. */
  startTimeoutSeconds: number;
  /** Shared streams: kill and restart the program after this long without output; 0: never. */
  stallTimeoutSeconds: number;
}

interface PagesConfig {
  home: boolean;
  stat: boolean;
  config: boolean;
}

/** A feed or stream left out of the running config because of its errors; the rest runs. */
export interface DisabledEntry {
  name: string;
  /** Streams: the paths it would be served at, where it answers 503 with `errors`. */
  urls: string[];
  /** Its problems, each as `file:line:col: path: message`. */
  errors: string[];
}

/** The file's own values (templates expanded), for /config: what the user wrote, user keys included. */
export interface WrittenConfig {
  settings: Record<string, unknown>;
  feeds: Record<string, unknown>;
  streams: Record<string, unknown>;
}

export interface ServerConfig {
  /** Absolute path of the file this config came from. */
  file: string;
  listenaddr: string;
  listenport: number;
  logdir?: string;
  pages: PagesConfig;
  /** Workers (threads or processes) carrying pipelines and clients; resolved to a number (default: CPU count). */
  workers: number;
  /** Workers as processes (isolated) or as threads of the primary's process (smaller). */
  workerMode: 'process' | 'thread';
  /** Event-loop utilisation (0..1) of a shared stream's owner worker above which its new clients go to other workers. */
  spillLoad: number;
  /** Show the per-client list on /stat (off by default: it lists client addresses). */
  statClients: boolean;
  /** Bytes a program's stderr log may grow to before it is rotated. */
  logMaxBytes: number;
  /** Rotated stderr logs kept per program (NAME.log.1 .. NAME.log.N). */
  logKeep: number;
  /** Readers of a feed (programs, peer links) this many seconds behind are dropped; streams have their own. */
  maxLagSeconds: number;
  feeds: Record<string, FeedConfig>;
  streams: Record<string, StreamConfig>;
  /** Access control and limits, checked by the primary only (kept apart from streams: changing them restarts nothing). */
  access: AccessSettings;
  /** Refuse a config with any problem, warnings included (on reload: keep the old one). */
  strict: boolean;
  disabled: { feeds: Record<string, DisabledEntry>; streams: Record<string, DisabledEntry> };
  written: WrittenConfig;
}
