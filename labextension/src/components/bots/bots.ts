/**
 * The bots as the Bots card shows them: the server's `DescribeBot`, read defensively, and the
 * words and colours of each state.
 */
import { TranslationBundle } from '@jupyterlab/translation';

/** The states a bot's runner reports (`BotState` on the server). */
export const BOT_STATES = [
  'starting',
  'running',
  'sleeping',
  'stopped',
  'crashed',
  'waiting-for-unlock'
] as const;

export type BotState = (typeof BOT_STATES)[number];

/** One bot, with only what the card shows. */
export interface IBotSummary {
  id: string;
  name: string;
  mode: string;
  /** Seconds between runs for an `every` bot. */
  interval: number | null;
  state: BotState;
  desiredState: string;
  /** Granted connection names (a placeholder while the vault is locked). */
  connections: string[];
  notebookVersion: number;
  runs: number;
  restarts: number;
  /** When a sleeping `every` bot runs next, in seconds since the epoch. */
  nextRunAt: number | null;
  /** Why the runner stopped or crashed, in the server's words. */
  reason: string | null;
  /** The exception of the last failed cell, `Name: value`. */
  lastError: string | null;
  /** `landlock (ABI 7)`, `bubblewrap`, `unsandboxed`, `refused: ...`; null before a first run. */
  sandbox: string | null;
}

/** The look of a state badge: `tone` picks its colour. */
export interface IBadge {
  text: string;
  tone: 'ok' | 'idle' | 'busy' | 'error';
}

const MS_PER_SECOND = 1000;

/** The local wall-clock time of an epoch second, as the user's browser words it. */
export function localTime(epochSeconds: number): string {
  return new Date(epochSeconds * MS_PER_SECOND).toLocaleTimeString();
}

/**
 * The badge of a bot's state: a sleeping bot says when it wakes, a crashed one says why.
 *
 * `formatTime` is a parameter so that the words do not depend on the test machine's locale.
 */
export function botBadge(
  bot: Pick<IBotSummary, 'state' | 'nextRunAt' | 'reason' | 'lastError'>,
  trans: TranslationBundle,
  formatTime: (epochSeconds: number) => string = localTime
): IBadge {
  switch (bot.state) {
    case 'running':
      return { text: trans.__('Running'), tone: 'ok' };
    case 'starting':
      return { text: trans.__('Starting'), tone: 'busy' };
    case 'sleeping':
      return bot.nextRunAt !== null
        ? { text: trans.__('Sleeping until %1', formatTime(bot.nextRunAt)), tone: 'ok' }
        : { text: trans.__('Sleeping'), tone: 'ok' };
    case 'crashed': {
      const why = bot.reason ?? bot.lastError;
      return why
        ? { text: trans.__('Crashed: %1', why), tone: 'error' }
        : { text: trans.__('Crashed'), tone: 'error' };
    }
    case 'waiting-for-unlock':
      return { text: trans.__('Waiting for the vault to be unlocked'), tone: 'busy' };
    case 'stopped':
      return { text: trans.__('Stopped'), tone: 'idle' };
  }
}

/** Whether a bot's sandbox level confines it; `null` while it has not run yet. */
export function sandboxConfined(sandbox: string | null): boolean | null {
  if (sandbox === null) {
    return null;
  }
  return sandbox.startsWith('landlock') || sandbox.startsWith('bubblewrap');
}

/** A `DescribeBot` from the server, or `null` if it is not one this version can show. */
export function parseBot(value: unknown): IBotSummary | null {
  if (!isObject(value) || !isObject(value.status)) {
    return null;
  }
  const { id, name, mode, interval, state, desired_state, connections, notebook_version } = value;
  const status = value.status;
  if (
    typeof id !== 'string' ||
    typeof name !== 'string' ||
    typeof mode !== 'string' ||
    typeof state !== 'string' ||
    !(BOT_STATES as readonly string[]).includes(state) ||
    typeof notebook_version !== 'number'
  ) {
    return null;
  }
  return {
    id,
    name,
    mode,
    interval: typeof interval === 'number' ? interval : null,
    state: state as BotState,
    desiredState: typeof desired_state === 'string' ? desired_state : '',
    connections: Array.isArray(connections)
      ? connections.filter((c): c is string => typeof c === 'string')
      : [],
    notebookVersion: notebook_version,
    runs: numberOr(status.runs, 0),
    restarts: numberOr(status.restarts, 0),
    nextRunAt: typeof status.next_run_at === 'number' ? status.next_run_at : null,
    reason: typeof status.reason === 'string' && status.reason ? status.reason : null,
    lastError: errorLine(status.last_error),
    sandbox: typeof status.sandbox === 'string' ? status.sandbox : null
  };
}

function errorLine(value: unknown): string | null {
  if (!isObject(value) || typeof value.ename !== 'string' || !value.ename) {
    return null;
  }
  return typeof value.evalue === 'string' && value.evalue
    ? `${value.ename}: ${value.evalue}`
    : value.ename;
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
