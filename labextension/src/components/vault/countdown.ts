/**
 * The auto-lock countdown: how long until the server drops the vault's key, as the card says
 * it. The server reports seconds from its answer (not a time of day, so the browser's clock
 * may be wrong); the API client turns that into a deadline on the browser's clock, re-set at
 * every poll, and the card ticks toward it locally in between.
 */

const MS_PER_SECOND = 1000;
const SECONDS_PER_MINUTE = 60;
const SECONDS_PER_HOUR = 3600;

/** Below this many seconds left the card warns that the vault is about to lock. */
export const ABOUT_TO_LOCK_SECONDS = 60;

/** Whole seconds left until `locksAt` at `now` (both milliseconds since the epoch); never
 * negative. Rounded up, so "0:00" means the deadline has passed. */
export function secondsLeft(locksAt: number, now: number): number {
  return Math.max(0, Math.ceil((locksAt - now) / MS_PER_SECOND));
}

/** `m:ss`, or `h:mm:ss` from an hour up. */
export function formatCountdown(seconds: number): string {
  const whole = Math.max(0, Math.floor(seconds));
  const hours = Math.floor(whole / SECONDS_PER_HOUR);
  const minutes = Math.floor((whole % SECONDS_PER_HOUR) / SECONDS_PER_MINUTE);
  const rest = whole % SECONDS_PER_MINUTE;
  const ss = String(rest).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${ss}` : `${minutes}:${ss}`;
}

/** Whether the card should warn: the deadline is near (or passed, the lock is imminent). */
export function isAboutToLock(seconds: number): boolean {
  return seconds <= ABOUT_TO_LOCK_SECONDS;
}
