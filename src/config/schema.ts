/**
 * The YAML config file as the user writes it: the one source of truth for
 * which keys exist, their defaults, their documentation (every key carries a
 * description, from which the JSON Schema for editors and the configuration
 * reference are generated) and the message a user sees when a value is wrong.
 *
 * This schema checks one value at a time. Anything that needs several
 * (feed references, cycles, URL collisions) or the file system (logdir) is in
 * checks.ts; turning the result into a ServerConfig is resolve.ts. It has no
 * transforms, so z.toJSONSchema renders it as is (use `io: 'input'`); the
 * one refinement (a command must split into words) is simply left out there.
 */
import { z } from 'zod';
import { splitCommand } from './command.js';
import { serverAccessKeys, streamAccessKeys } from './access-schema.js';
import { pullKeys, serverPullKeys } from './pull-schema.js';

/** Error option for a value: a missing required key reads "required", a wrong one reads `text`. */
function says(text: string): { error: (issue: { input?: unknown }) => string } {
  return { error: (issue) => (issue.input === undefined ? 'required' : text) };
}

const BOOLEAN = says('must be true or false');
const SECONDS = says('must be a number of seconds > 0');
const SECONDS_OR_OFF = says('must be a number of seconds >= 0 (0 turns it off)');
const FRACTION = says('must be a number from 0 to 1');

const stallTimeout = (what: string) =>
  z
    .number(SECONDS_OR_OFF)
    .min(0, SECONDS_OR_OFF)
    .optional()
    .describe(`Overrides the top-level stall_timeout for this ${what}.`);

/** Containers a feed's readers can join at a boundary; `auto` recognises them from the bytes. */
const FEED_FORMATS = ['auto', 'raw', 'mpegts', 'matroska', 'fmp4', 'flv', 'mpjpeg', 'mp3', 'adts'] as const;

/**
 * Feed and stream names become URL paths (/stream/NAME, percent-encoded) and
 * log file names (made safe when written): like the original, any text
 * works, spaces and non-ASCII letters included, except what no path segment
 * can hold: a "/", control characters, or only dots ("..", which clients
 * normalise away).
 */
const NAME_PATTERN = /^(?!\.+$)[^/\p{Cc}]+$/u;
const NAME_MESSAGE = 'invalid name: it becomes a URL path segment, so no "/", no control characters and not only dots';

/** A path a client can request: no whitespace, no query or fragment; the leading "/" may be left out, as the original allowed. */
export const URL_PATTERN = /^\/?[^\s?#/][^\s?#]*$|^\/$/;

export const FEED_MODES = ['on-demand', 'continuous', 'autostart'] as const;
const MODE_MESSAGE = 'must be on-demand, continuous, autostart or a number of seconds >= 0';

const command = z
  .string(says('must be a string (the program and its arguments, split like a shell does)'))
  .check((ctx) => {
    const split = splitCommand(ctx.value);
    if (!split.ok) ctx.issues.push({ code: 'custom', message: split.message, input: ctx.value });
  })
  .describe(
    'Program and arguments, split into words like a POSIX shell does (quotes, backslashes) and run without a shell. ' +
      "For a shell pipeline write sh -c '...'. YAML folded text (command: >) may spread it over several lines. " +
      'Required, unless pull: (a relay) is set instead.',
  )
  .optional();

const feedReference = z
  .string(says('must be the name of a feed'))
  .describe("Name of a feed (under feeds:) whose output reaches this program's stdin.");

/** Template params and set variables: they appear in ${…}, so no dots or dashes. */
const IDENTIFIER_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
const IDENTIFIER_MESSAGE = 'must be a name of letters, digits and "_" (it is written ${NAME} in values)';
const identifier = z.string().regex(IDENTIFIER_PATTERN, { error: IDENTIFIER_MESSAGE });
const scalar = z.union([z.string(), z.number(), z.boolean()], says('must be a string, number or boolean'));

const feedInputs = z
  .union(
    [
      z.array(z.string(), says('must be a list of feed names, or a mapping of name: feed')).min(1, { error: 'must name at least one feed' }),
      z.record(identifier, z.string(says('must be the name of a feed')), says('must be a list of feed names, or a mapping of name: feed')),
    ],
    says('must be a list of feed names, or a mapping of name: feed'),
  )
  .optional()
  .describe(
    'Feeds this program reads, each on its own pipe (fd 3, 4, ...): a list of feed names, or a mapping of name: feed. ' +
      'In the command, ${feeds.NAME} stands for the pipe of feed NAME (ffmpeg: -i ${feeds.NAME}). Instead of feed:.',
  );

const templateReference = z
  .string(says('must be the name of a template (under templates:)'))
  .optional()
  .describe('Name of a template (under templates:) this entry is made from; its own keys override the template\'s.');

const templateArgs = z
  .record(identifier, scalar, says('must be a mapping of parameter: value'))
  .optional()
  .describe('Values for the template\'s params, each written ${NAME} in the template. A param without a default is required.');

export const RESURRECT_MODES = ['always', 'on-failure', 'never'] as const;
const RESURRECT = says('must be always, on-failure, never, true (always) or false (never)');

const resurrect = z
  .union([z.enum(RESURRECT_MODES, RESURRECT), z.boolean(RESURRECT)], RESURRECT)
  .optional()
  .describe(
    'Whether the program is restarted (with a growing back-off) when it exits while it is needed. always (or true): ' +
      'whatever the exit. on-failure: unless it exited with code 0, so a finite clip plays once and its clients\' ' +
      'responses end. never (or false): its clients\' responses end. Default: always.',
  );

const noResurrect = z
  .boolean(BOOLEAN)
  .optional()
  .describe('The original spelling of `resurrect: false`: true turns restarting off. Default: false.');

/**
 * A linger time may be an integer or a numeric string ("30"): quoting numbers
 * is a common YAML habit. Fractions are accepted because the original did.
 */
const mode = z
  .union(
    [
      z.enum(FEED_MODES, says(MODE_MESSAGE)),
      z.number(says(MODE_MESSAGE)).min(0, { error: MODE_MESSAGE }),
      z.string(says(MODE_MESSAGE)).regex(/^\d+$/, { error: MODE_MESSAGE }),
    ],
    says(MODE_MESSAGE),
  )
  .default('on-demand')
  .describe(
    'When the program (or pull) runs. on-demand: while a client needs it. A number N: on-demand, but it keeps running ' +
      'N seconds after the last client left. continuous: from first use on, never stopped. ' +
      'autostart: from server start on, never stopped. Streams: pulled streams only (a program stream runs on demand).',
  );

export const FeedSchema = z
  .strictObject(
    {
      command,
      ...pullKeys,
      mode,
      feed: feedReference.optional(),
      resurrect,
      'no-resurrect': noResurrect,
      stall_timeout: stallTimeout('feed'),
      format: z
        .enum(FEED_FORMATS, says(`must be one of: ${FEED_FORMATS.join(', ')}`))
        .default('auto')
        .describe(
          'Container the feed writes, so that programs reading it (streams, shots, chained feeds) start at a ' +
            'boundary with its header instead of mid-packet. auto: recognised from the first bytes (MPEG-TS, ' +
            'Matroska/WebM, fragmented MP4, FLV, mpjpeg, MP3, ADTS); raw: any byte (no framing).',
        ),
      template: templateReference,
      args: templateArgs,
    },
    says('must be a mapping with at least a command or a pull'),
  )
  .describe('A source program that writes a stream to stdout (or a pull of a URL), shared by every stream that reads it.');

export const StreamSchema = z
  .strictObject(
    {
      command,
      ...pullKeys,
      type: z
        .enum(['stream', 'shot'], says('must be one of: stream, shot'))
        .default('stream')
        .describe('stream: a continuous response. shot: one run of the program per request; its stdout is the answer.'),
      mimetype: z
        .string(says('must be a MIME type, e.g. video/mp2t'))
        .regex(/^[^\r\n]+$/, { error: 'must be a MIME type, e.g. video/mp2t' })
        .optional()
        .describe(
          'Content-Type of the response, e.g. video/mp2t or multipart/x-mixed-replace;boundary=ffmpeg. Required, ' +
            "except for a pulled stream, which takes the origin's Content-Type when it has none.",
        ),
      feed: feedReference.optional(),
      feeds: feedInputs,
      client: z
        .enum(['shared', 'exclusive'], says('must be one of: shared, exclusive'))
        .default('shared')
        .describe(
          'shared: one program, its output fanned out to every client. ' +
            'exclusive: one program per client, for formats a player cannot join mid-way.',
        ),
      url: z
        .string(says('must be a path, e.g. /live/cam'))
        .regex(URL_PATTERN, { error: 'must be a path, e.g. /live/cam (no spaces, "?" or "#")' })
        .optional()
        .describe('A second path the stream is served at, besides /stream/NAME ("live/cam" means "/live/cam").'),
      mode,
      resurrect,
      'no-resurrect': noResurrect,
      max_lag: z
        .number(SECONDS)
        .positive(SECONDS)
        .optional()
        .describe('Overrides the top-level max_lag for this stream.'),
      lag_policy: z
        .enum(['drop', 'skip'], says('must be one of: drop, skip'))
        .default('drop')
        .describe(
          'What happens to a client more than max_lag behind. drop: it is disconnected (as the original). ' +
            'skip: it jumps ahead to the latest join point (keyframe), losing a stretch of stream but not the stream.',
        ),
      start_timeout: z
        .number(SECONDS)
        .positive(SECONDS)
        .optional()
        .describe('Overrides the top-level start_timeout for this stream.'),
      burst: z
        .number(SECONDS_OR_OFF)
        .min(0, SECONDS_OR_OFF)
        .default(1)
        .describe(
          'MP3 and ADTS AAC shared streams: a joiner starts this many seconds of audio in the past (frame-aligned, ' +
            'never more than max_lag), so a player starts at once. 0: at the latest frame.',
        ),
      stall_timeout: stallTimeout('stream'),
      shot_timeout: z
        .number(SECONDS)
        .positive(SECONDS)
        .optional()
        .describe('Overrides the top-level shot_timeout for this stream.'),
      join: z
        .enum(['auto', 'keyframe', 'next-keyframe', 'raw'], says('must be one of: auto, keyframe, next-keyframe, raw'))
        .default('auto')
        .describe(
          'Where a client joining a shared stream mid-way starts. keyframe: the container header, then the latest ' +
            'keyframe (a picture at once, up to one keyframe interval behind live). next-keyframe: the header, then ' +
            'the next keyframe (live edge, but nothing until it comes). raw: the live edge, no header (any byte). ' +
            'auto: keyframe for MPEG-TS, WebM/Matroska, fragmented MP4, FLV, multipart (mpjpeg), MP3 and ADTS ' +
            'mimetypes, raw for anything else.',
        ),
      ...streamAccessKeys,
      template: templateReference,
      args: templateArgs,
    },
    says('must be a mapping with at least a command and a mimetype, or a pull'),
  )
  .describe('An output served over HTTP: a program that reads a feed (or nothing) and writes what clients receive, or a relay of a URL.');

function named<T extends z.ZodType>(entry: T, what: string) {
  return z
    .record(z.string().regex(NAME_PATTERN, { error: NAME_MESSAGE }), entry, says(`must be a mapping of ${what} by name`))
    .default({});
}

/**
 * The keys of feeds and streams with any value: templates and generated
 * entries are checked key by key here (so a typo is caught even in a
 * template nobody uses yet), and value by value once expanded, when
 * placeholders are filled in and `max_lag: ${lag}` has become a number.
 */
function anyValues(...shapes: Record<string, z.ZodType>[]): Record<string, z.ZodType> {
  const keys: Record<string, z.ZodType> = {};
  for (const shape of shapes) {
    for (const [key, schema] of Object.entries(shape)) {
      if (key === 'template' || key === 'args') continue;
      keys[key] = z.unknown().optional().describe(schema.description ?? '');
    }
  }
  return keys;
}

const entryKeys = anyValues(FeedSchema.shape, StreamSchema.shape);

export const TemplateSchema = z
  .strictObject(
    {
      params: z
        .record(identifier, z.union([scalar, z.null()]), says('must be a mapping of parameter: default'))
        .optional()
        .describe('Parameters by name, each with its default value; ~ (null) makes it required. Written ${NAME} in the values.'),
      ...entryKeys,
    },
    says('must be a mapping of feed or stream keys (command, mimetype, ...) and params'),
  )
  .describe('Keys shared by the feeds and streams that name this template, with ${PARAM} placeholders.');

const generatedEntries = (what: string) =>
  z
    .record(
      z.string(),
      z.strictObject({ ...entryKeys, template: templateReference, args: z.unknown().optional().describe(templateArgs.description ?? '') }, says(`must be a mapping of ${what} keys`)),
      says(`must be a mapping of ${what} by name`),
    )
    .optional();

const setValues = z
  .union(
    [
      z.array(z.union([scalar, z.record(identifier, scalar)]), says('must be a list of values, or a range "1..8"')),
      z.string().regex(/^\s*-?\d+\.\.-?\d+\s*$/, { error: 'must be a list of values, or a range "1..8"' }),
    ],
    says('must be a list of values, or a range "1..8"'),
  )
  .describe('The values of one variable: a list (of values, or of mappings read as ${VAR.FIELD}) or a range "1..8" ("01..08" keeps the zeros).');

export const GenerateSetSchema = z
  .strictObject(
    {
      for: z
        .record(identifier, setValues, says('must be a mapping of variable: values'))
        .describe('Variables and their values; the set is made once per combination (the product of the lists).'),
      feeds: generatedEntries('feed').describe('Feeds made per combination; names and values may use ${VAR}.'),
      streams: generatedEntries('stream').describe('Streams made per combination; names and values may use ${VAR}.'),
    },
    says('must be a mapping with for: and feeds: or streams:'),
  )
  .describe('Feeds and streams made once per combination of the values in for:, e.g. cam${n} for n in 1..8.');

export const PagesSchema = z
  .strictObject(
    {
      home: z.boolean(BOOLEAN).default(true).describe('Serve the home page (GET /) listing every stream.'),
      stat: z.boolean(BOOLEAN).default(true).describe('Serve the status page (GET /stat) and its data (GET /stat.json).'),
      config: z
        .boolean(BOOLEAN)
        .default(false)
        .describe('Serve the resolved config as JSON (GET /config). Off by default: it shows every command.'),
    },
    says('must be a mapping of page: true/false'),
  )
  .prefault({})
  .describe('Which built-in pages are served; a disabled page answers 403.');

export const ConfigSchema = z
  .strictObject(
    {
      listenaddr: z
        .string(says('must be an address, e.g. 127.0.0.1 or 0.0.0.0'))
        .min(1, { error: 'must be an address, e.g. 127.0.0.1 or 0.0.0.0' })
        .default('127.0.0.1')
        .describe('Address the HTTP server listens on; 0.0.0.0 for every IPv4 interface.'),
      listenport: z
        .number(says('must be an integer from 1 to 65535'))
        .int({ error: 'must be an integer from 1 to 65535' })
        .min(1, { error: 'must be an integer from 1 to 65535' })
        .max(65535, { error: 'must be an integer from 1 to 65535' })
        .default(8090)
        .describe('TCP port the HTTP server listens on.'),
      logdir: z
        .string(says('must be a directory path'))
        .min(1, { error: 'must be a directory path' })
        .optional()
        .describe(
          'Directory (existing, writable) receiving the stderr of every program as <feed|stream>_NAME.log. ' +
            "A relative path is relative to the config file's directory. Default: stderr is discarded.",
        ),
      pages: PagesSchema,
      templates: z
        .record(z.string().regex(NAME_PATTERN, { error: NAME_MESSAGE }), TemplateSchema, says('must be a mapping of templates by name'))
        .optional()
        .describe('Reusable feed/stream definitions with parameters; an entry names one with template: and fills it with args:.'),
      generate: z
        .array(GenerateSetSchema, says('must be a list of sets (- for: ...)'))
        .optional()
        .describe('Sets of feeds and streams generated from lists of values; expanded at load time.'),
      feeds: named(FeedSchema, 'feeds').describe('Source programs by name.'),
      streams: named(StreamSchema, 'streams').describe('Served outputs by name; each is at /stream/NAME or its url.'),
      workers: z
        .union(
          [
            z.literal('auto', says('must be "auto" or an integer >= 1')),
            z
              .number(says('must be "auto" or an integer >= 1'))
              .int({ error: 'must be "auto" or an integer >= 1' })
              .min(1, { error: 'must be "auto" or an integer >= 1' }),
          ],
          says('must be "auto" or an integer >= 1'),
        )
        .default('auto')
        .describe('Workers (threads or processes, see worker_mode) carrying programs and clients. auto: one per CPU core.'),
      worker_mode: z
        .enum(['process', 'thread'], says('must be process or thread'))
        .default('thread')
        .describe(
          'thread: workers are threads of the one server process (~15 MB each instead of ~55; an uncaught error or heap exhaustion ends only that thread); needs the native addon, else process. process: each worker is a process of its own (kill -9 or a crash in native code ends only that worker).',
        ),
      spill_load: z
        .number(FRACTION)
        .min(0, FRACTION)
        .max(1, FRACTION)
        .default(0.5)
        .describe(
          "A shared stream's new clients go to the worker running its program while that worker's event loop is busy less than this fraction of the time; above it, to the worker with the fewest clients. 0: spread every stream's clients over all workers from the first.",
        ),
      max_lag: z
        .number(SECONDS)
        .positive(SECONDS)
        .default(10)
        .describe('A client more than this many seconds of stream data behind is disconnected. Per stream: max_lag.'),
      start_timeout: z
        .number(SECONDS)
        .positive(SECONDS)
        .default(10)
        .describe(
          'A client of a stream is answered only once its program sent a first byte: 502 (with the stderr tail) ' +
            'if the program fails first, 504 after this many seconds. Per stream: start_timeout.',
        ),
      stall_timeout: z
        .number(SECONDS_OR_OFF)
        .min(0, SECONDS_OR_OFF)
        .default(15)
        .describe(
          'A running feed or shared-stream program that writes nothing for this many seconds while it is needed ' +
            'is killed and restarted (counted as a stall). 0 turns the watchdog off. Per feed and stream: stall_timeout.',
        ),
      shot_timeout: z
        .number(SECONDS)
        .positive(SECONDS)
        .default(30)
        .describe('A shot taking longer is answered 504 and its program killed. Per stream: shot_timeout.'),
      stat_clients: z
        .boolean(BOOLEAN)
        .default(false)
        .describe('List every connected client (address, stream, bytes) on /stat and /stat.json.'),
      log_max_bytes: z
        .number(says('must be an integer number of bytes >= 1'))
        .int({ error: 'must be an integer number of bytes >= 1' })
        .min(1, { error: 'must be an integer number of bytes >= 1' })
        .default(10 * 1024 * 1024)
        .describe("Size at which a program's log in logdir is rotated. Default: 10 MiB."),
      log_keep: z
        .number(says('must be an integer >= 0'))
        .int({ error: 'must be an integer >= 0' })
        .min(0, { error: 'must be an integer >= 0' })
        .default(3)
        .describe('Rotated logs kept per program (NAME.log.1 .. NAME.log.N); 0 keeps none.'),
      ...serverAccessKeys,
      ...serverPullKeys,
      strict: z
        .boolean(BOOLEAN)
        .default(false)
        .describe(
          'Refuse to start (or to reload) on any problem in the config, warnings included (unknown keys). ' +
            'Default: false: unknown keys are warnings, and an entry with errors is disabled while the rest runs. Also --strict.',
        ),
    },
    says('must be a mapping of settings (listenport:, feeds:, streams:, ...)'),
  )
  .meta({
    title: 'voyandz config',
    description: 'voyandz server configuration (YAML). Original voyandz files are valid as they are.',
  });

/** The file as parsed by the schema, defaults applied. */
export type RawConfig = z.output<typeof ConfigSchema>;
export type RawFeed = z.output<typeof FeedSchema>;
export type RawStream = z.output<typeof StreamSchema>;
