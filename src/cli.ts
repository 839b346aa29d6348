#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createLogger } from './log.js';
import { locateFfmpeg } from './ffmpeg-locator.js';
import { loadConfigInThread, closeConfigThreads } from './config/load-in-thread.js';
import { formatIssue } from './config/config-error.js';
import { hasErrors, logConfigIssues } from './config/log-issues.js';
import { Primary } from './primary/primary.js';
import { PROGRAM_NAME, VERSION } from './version.js';
import { ERRORS } from './errors.js';
// The helpers, --schema and --check load zod, yaml and bcrypt; imported only when asked for, so a running server's primary does not hold them.
import { HELPERS_HELP } from './access/cli-helpers-help.js';

const DEFAULT_CONFFILE = '/etc/voyandz';
const CONFFILE_ENV = 'VOYANDZ_CONFFILE';
const DEMO_CONFIG = fileURLToPath(new URL('../../config/demo.yaml', import.meta.url));

const HELP = `usage: ${PROGRAM_NAME} [-f CONFIG] [--check] [--strict] [--schema] [--log-level LEVEL] [--log-format json|pretty]
               [-V|--version] [-h|--help]
       ${PROGRAM_NAME} hash-password | sign PATH --ttl SECONDS [-f CONFIG]

Real-time audio/video streaming server: runs the feed and stream programs of
CONFIG (ffmpeg...) and serves their output to HTTP clients.

options:
  -f, --file CONFIG  YAML config (default: $${CONFFILE_ENV}, else ${DEFAULT_CONFFILE},
                     else the bundled demo config)
  --check            load and validate the config, print it resolved, list its
                     warnings and errors, and exit 1 if there is an error (0 with
                     warnings alone); starts nothing
  --strict           refuse a config with any problem, warnings included (like
                     strict: true in the config); without it, unknown keys are
                     warnings and a feed or stream with errors is disabled alone
  --schema           print the JSON Schema of the config file (for editors)
  --log-level LEVEL  trace, debug, info (default), warn, error, fatal,
                     silent (or $VOYANDZ_LOG_LEVEL)
  --log-format FMT   json (JSON lines) or pretty (readable); default: pretty
                     on a terminal, else json (or $VOYANDZ_LOG_FORMAT)
  -V, --version      print the version and exit
  -h, --help         print this help and exit

commands:
${HELPERS_HELP}
signals: SIGINT/SIGTERM stop gracefully; SIGHUP reloads the config.
`;

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
const LOG_FORMATS = ['json', 'pretty'];

/**
 * A logging setting from its flag, else its environment variable, checked
 * either way (a bad value from the environment would otherwise crash the
 * logger with a stack trace, or be ignored) and left in the environment for
 * the workers. An empty variable counts as unset. The error, if any.
 */
function applyLogSetting(flag: string | undefined, name: string, envName: 'VOYANDZ_LOG_LEVEL' | 'VOYANDZ_LOG_FORMAT', allowed: string[]): string | null {
  const value = flag ?? (process.env[envName] || undefined);
  if (value !== undefined && !allowed.includes(value)) return `${flag === undefined ? `$${envName}` : name} must be one of ${allowed.join(', ')} (not "${value}")`;
  if (value === undefined) Reflect.deleteProperty(process.env, envName);
  else process.env[envName] = value;
  return null;
}

function usageError(message: string): number {
  process.stderr.write(`${PROGRAM_NAME}: ${message}\n\n${HELP}`);
  return 2;
}

function chooseConfigFile(flag: string | undefined): { file: string; why: string } {
  if (flag) return { file: resolve(flag), why: '-f' };
  const fromEnv = process.env[CONFFILE_ENV];
  if (fromEnv) return { file: resolve(fromEnv), why: CONFFILE_ENV };
  if (existsSync(DEFAULT_CONFFILE)) return { file: DEFAULT_CONFFILE, why: 'default' };
  return { file: DEMO_CONFIG, why: 'no config given: bundled demo' };
}

async function main(): Promise<number> {
  const command = process.argv[2];
  try {
    if (command === 'hash-password') return await (await import('./access/cli-helpers.js')).hashPasswordCommand(process.argv.slice(3), process.stdin);
    if (command === 'sign') return await (await import('./access/cli-helpers.js')).signCommand(process.argv.slice(3), () => chooseConfigFile(undefined).file);
  } catch (error) {
    process.stderr.write(`${PROGRAM_NAME}: ${(error as Error).message}\n`);
    return 2;
  }
  let args;
  try {
    args = parseArgs({
      options: {
        file: { type: 'string', short: 'f' },
        check: { type: 'boolean' },
        strict: { type: 'boolean' },
        schema: { type: 'boolean' },
        version: { type: 'boolean', short: 'V' },
        help: { type: 'boolean', short: 'h' },
        'log-level': { type: 'string' },
        'log-format': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    process.stderr.write(`${PROGRAM_NAME}: ${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  // Through the environment: the worker processes read the same settings.
  const logError =
    applyLogSetting(args['log-level'], '--log-level', 'VOYANDZ_LOG_LEVEL', LOG_LEVELS) ??
    applyLogSetting(args['log-format'], '--log-format', 'VOYANDZ_LOG_FORMAT', LOG_FORMATS);
  if (logError !== null) return usageError(logError);
  if (args.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (args.schema) {
    process.stdout.write((await import('./config/json-schema.js')).configJsonSchemaText());
    return 0;
  }
  if (args.version) {
    process.stdout.write(`${PROGRAM_NAME} ${VERSION}\n`);
    return 0;
  }

  const { file, why } = chooseConfigFile(args.file);
  const request = { file, strict: args.strict === true };
  if (args.check) {
    const result = await loadConfigInThread(request);
    await closeConfigThreads();
    if (!result.ok) {
      process.stderr.write(`${result.message}\n`);
      return 1;
    }
    if (result.issues.length > 0) process.stderr.write(`${result.issues.map(formatIssue).join('\n')}\n`);
    process.stdout.write((await import('./config/render.js')).renderConfig(result.config));
    return hasErrors(result.issues) ? 1 : 0;
  }

  const log = createLogger({ name: PROGRAM_NAME });
  log.info({ version: VERSION, node: process.version, pid: process.pid }, `${PROGRAM_NAME} ${VERSION}`);
  const ffmpeg = locateFfmpeg();
  if (ffmpeg) log.info({ ffmpeg: ffmpeg.path, source: ffmpeg.source }, `using ffmpeg ${ffmpeg.path} (${ffmpeg.source})`);
  else log.warn({ code: ERRORS.NO_FFMPEG.code }, ERRORS.NO_FFMPEG.message());
  log.info({ file, why }, `config ${file} (${why})`);

  const loaded = await loadConfigInThread(request);
  if (!loaded.ok) {
    process.stderr.write(`${loaded.message}\n`);
    log.fatal({ code: ERRORS.CONFIG_INVALID.code, issues: loaded.issues.length }, 'config rejected; nothing started');
    await closeConfigThreads();
    return 1;
  }
  logConfigIssues(log, loaded.config, loaded.issues);
  let primary;
  try {
    primary = await Primary.start(loaded.config, log);
  } catch (error) {
    log.fatal({ err: error }, (error as Error).message);
    return 1;
  }

  let exiting = false;
  const stop = (signal: string): void => {
    if (exiting) return;
    exiting = true;
    log.info({ signal }, 'stopping');
    void primary
      .stop()
      .then(() => closeConfigThreads())
      .then(() => {
        log.info('stopped');
        process.exit(0);
      });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGHUP', () => {
    log.info({ file }, 'SIGHUP: reloading config');
    void loadConfigInThread(request).then((result) => {
      if (!result.ok) {
        log.error({ code: ERRORS.CONFIG_INVALID.code, errors: result.message }, 'reload failed; keeping the running config');
        return;
      }
      logConfigIssues(log, result.config, result.issues);
      primary.reload(result.config);
    });
  });
  return -1;
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(`${PROGRAM_NAME}: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
    process.exit(1);
  },
);
