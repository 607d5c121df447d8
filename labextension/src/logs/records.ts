/**
 * A bot's log records as the server sends them (`LogRecord`), and the display lines made of them.
 *
 * A record is one write of the bot (a `print` batch, a traceback, a runner message) and may hold
 * several lines; the view shows lines, one per fixed-height row, so records are split here once,
 * when they arrive, rather than at every render.
 */

/** One record of `logs/bot.jsonl`: `seq` grows by one per record and survives restarts. */
export interface ILogRecord {
  seq: number;
  /** Seconds since the epoch, when the runner wrote it. */
  ts: number;
  /** `stdout`, `stderr`, `display`, `error` (a traceback) or `system` (the runner's own). */
  stream: string;
  text: string;
  cell?: number;
  run?: number;
}

/** The levels the filter offers, lowest first. */
export const LOG_LEVELS = ['debug', 'info', 'warning', 'error'] as const;

export type LogLevel = (typeof LOG_LEVELS)[number];

/** One row of the view. */
export interface ILogLine {
  seq: number;
  ts: number;
  stream: string;
  level: LogLevel;
  text: string;
}

/** A `logging` level name near the start of a line, as `wd.log` and most loggers write it. */
const LEVEL_WORD = /\b(DEBUG|INFO|WARN|WARNING|ERROR|CRITICAL|FATAL)\b/;
/** Only the head of a line is searched: a level word deep in a message is not its level. */
const LEVEL_WORD_SPAN = 48;
/** The runner's own words when a run fails or the bot gives up (`bots/runner.py`). */
const SYSTEM_ERROR = /^(giving up|not running)\b/;
const SYSTEM_WARNING = /^run \d+ failed\b/;

const LEVEL_OF_WORD: Record<string, LogLevel> = {
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warning',
  WARNING: 'warning',
  ERROR: 'error',
  CRITICAL: 'error',
  FATAL: 'error'
};

/**
 * The level of one line: a traceback is an error, a runner message says whether a run failed,
 * and other output is read for a logging level word; anything else is `info`.
 */
export function levelOf(stream: string, text: string): LogLevel {
  if (stream === 'error') {
    return 'error';
  }
  if (stream === 'system') {
    return SYSTEM_ERROR.test(text) ? 'error' : SYSTEM_WARNING.test(text) ? 'warning' : 'info';
  }
  const word = LEVEL_WORD.exec(text.slice(0, LEVEL_WORD_SPAN));
  return word ? LEVEL_OF_WORD[word[1]] : 'info';
}

/** The lines of a record: its text split at newlines, without the one ending it. */
export function linesOf(record: ILogRecord): ILogLine[] {
  const text = record.text.endsWith('\n') ? record.text.slice(0, -1) : record.text;
  const parts = text.split('\n');
  // A traceback's level belongs to every line of it, not only to the ones naming a level.
  const shared = record.stream === 'error' ? 'error' : null;
  return parts.map(part => {
    const clean = part.endsWith('\r') ? part.slice(0, -1) : part;
    return {
      seq: record.seq,
      ts: record.ts,
      stream: record.stream,
      level: shared ?? levelOf(record.stream, clean),
      text: clean
    };
  });
}

/** A record from the server, or `null` if it is not one (it is then skipped, not shown). */
export function parseRecord(value: unknown): ILogRecord | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return null;
  }
  const { seq, ts, stream, text, cell, run } = value as Record<string, unknown>;
  if (
    typeof seq !== 'number' ||
    !Number.isSafeInteger(seq) ||
    typeof ts !== 'number' ||
    typeof stream !== 'string' ||
    typeof text !== 'string'
  ) {
    return null;
  }
  const record: ILogRecord = { seq, ts, stream, text };
  if (typeof cell === 'number') {
    record.cell = cell;
  }
  if (typeof run === 'number') {
    record.run = run;
  }
  return record;
}
