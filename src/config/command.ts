/**
 * Commands are split into argv the way the original did it (Python's
 * shlex.split, i.e. POSIX shell word rules: quotes, backslashes, whitespace
 * including the newlines of YAML folded text) and run WITHOUT a shell.
 * Nothing is rejected beyond what cannot be split at all: a user who wants
 * pipes or globbing writes `sh -c '…'`, which splits fine.
 */
import { split } from 'shlex';

export type SplitCommand = { ok: true; argv: string[] } | { ok: false; message: string };

/** shlex's messages, in the words of someone editing a YAML file. */
const SHLEX_MESSAGES: Record<string, string> = {
  'Got EOF while in a quoted string': 'has an unbalanced quote',
  'Got EOF while in an escape sequence': 'ends with a lone backslash',
};

export function splitCommand(command: string): SplitCommand {
  // An argument is a C string: spawn would refuse it at start, long after --check said OK.
  const nul = command.indexOf('\0');
  if (nul >= 0) return { ok: false, message: `holds a NUL byte (character ${nul + 1}), which no program argument can carry` };
  let argv: string[];
  try {
    argv = split(command);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { ok: false, message: SHLEX_MESSAGES[reason] ?? `cannot be split into words: ${reason}` };
  }
  if (argv.length === 0) return { ok: false, message: 'must not be empty' };
  return { ok: true, argv };
}
