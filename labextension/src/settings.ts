/**
 * The user settings of WatchDog Lab (`schema/plugin.json`), read into the values the models use.
 *
 * The schema is the one source of the defaults a user sees in the Settings Editor; the copy here
 * serves when the registry is missing or a stored value is unusable, and a test keeps the two
 * equal.
 */
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

/** The plugin whose settings these are (the core plugin); every plugin reads them from it. */
export const SETTINGS_PLUGIN_ID = 'watchdog-lab:plugin';

export interface IWatchdogLabSettings {
  /** Seconds between vault state requests while the sidebar is visible. */
  vaultRefreshInterval: number;
  /** Longest wait, in seconds, between requests while the server does not answer. */
  vaultRefreshBackoffLimit: number;
  /** Seconds between bot list requests while the sidebar is visible. */
  botsRefreshInterval: number;
  /** The most lines one bot log view holds. */
  logBufferLines: number;
  /** Whether a bot's crash is announced with a notification. */
  crashNotifications: boolean;
}

export const DEFAULT_SETTINGS: Readonly<IWatchdogLabSettings> = {
  vaultRefreshInterval: 5,
  vaultRefreshBackoffLimit: 60,
  botsRefreshInterval: 5,
  logBufferLines: 100_000,
  crashNotifications: true
};

/** The bounds the schema declares, applied again so a hand-edited value cannot stall the poll. */
export const SETTING_BOUNDS = { minimum: 1, maximum: 3600 } as const;

/** The bounds of `logBufferLines`: below, a burst scrolls out of reach at once; above, a view
 * could take gigabytes. */
export const LOG_BUFFER_BOUNDS = { minimum: 1000, maximum: 1_000_000 } as const;

/**
 * The settings to use for a composite value from the registry.
 *
 * A missing, non-numeric or out-of-range value falls back to its default, and the backoff limit
 * is never below the refresh interval (the poll could not honour both).
 */
export function readSettings(composite: ReadonlyPartialJSONObject): IWatchdogLabSettings {
  const vaultRefreshInterval = secondsOr(
    composite.vaultRefreshInterval,
    DEFAULT_SETTINGS.vaultRefreshInterval
  );
  const vaultRefreshBackoffLimit = Math.max(
    vaultRefreshInterval,
    secondsOr(composite.vaultRefreshBackoffLimit, DEFAULT_SETTINGS.vaultRefreshBackoffLimit)
  );
  const botsRefreshInterval = secondsOr(
    composite.botsRefreshInterval,
    DEFAULT_SETTINGS.botsRefreshInterval
  );
  const logBufferLines = linesOr(composite.logBufferLines, DEFAULT_SETTINGS.logBufferLines);
  const crashNotifications =
    typeof composite.crashNotifications === 'boolean'
      ? composite.crashNotifications
      : DEFAULT_SETTINGS.crashNotifications;
  return {
    vaultRefreshInterval,
    vaultRefreshBackoffLimit,
    botsRefreshInterval,
    logBufferLines,
    crashNotifications
  };
}

function linesOr(value: unknown, fallback: number): number {
  return typeof value === 'number' &&
    Number.isInteger(value) &&
    value >= LOG_BUFFER_BOUNDS.minimum &&
    value <= LOG_BUFFER_BOUNDS.maximum
    ? value
    : fallback;
}

function secondsOr(value: unknown, fallback: number): number {
  return typeof value === 'number' &&
    Number.isFinite(value) &&
    value >= SETTING_BOUNDS.minimum &&
    value <= SETTING_BOUNDS.maximum
    ? value
    : fallback;
}
