/**
 * Which crashes to announce, from successive answers of `GET bots`.
 *
 * The server's view is the truth: a bot is crashed when the server lists it in the `crashed`
 * state (its runner gave up, the sandbox refused it, or the runner is gone), and it is in a
 * crash loop when the runner gave up after too many failures in its window (the reason then
 * starts with `crash loop:`). A failed run that the runner is about to retry is not announced:
 * the bot is still trying, and a loop of retries ends in `crashed` when it gives up.
 *
 * Each crash is announced once. A crash is told apart from the next one by the runner that
 * lived it (its start time) and its run and restart counts, so a crashed bot seen again at the
 * next poll is not announced twice, while the same bot crashing again after a restart is.
 * The first answer after the page loads is a baseline: crashes it already shows are old news
 * (the Bots card shows them in red), so nothing is announced for them.
 */
import { IBotSummary } from '../components/bots/bots';

/** A bot as the detector needs it: the card's summary and when its current runner started. */
export interface IWatchedBot {
  bot: IBotSummary;
  /** `status.started_at` (seconds since the epoch), `null` before a first start. */
  startedAt: number | null;
}

export interface ICrashAlert {
  /** The bot's id (stable) and name (what the user knows it by, and the command argument). */
  id: string;
  name: string;
  /** Why, in the server's words (the runner's reason, else the last failed cell's error). */
  reason: string | null;
  /** The exception of the last failed cell, `Name: value`, if any. */
  error: string | null;
  /** The runner gave up after too many failures in a row. */
  crashLoop: boolean;
  /** Identifies this crash among all crashes of the bot. */
  key: string;
}

/** The runner's words when it gives up after repeated failures (`bots/runner.py`). */
export const CRASH_LOOP_PREFIX = 'crash loop:';

export function crashKey(watched: IWatchedBot): string {
  const { bot, startedAt } = watched;
  return `${bot.id}\u0000${startedAt ?? ''}\u0000${bot.runs}\u0000${bot.restarts}`;
}

export class CrashDetector {
  /**
   * Give the bots of one answer; returns the crashes to announce now. The first call only
   * records what is already crashed.
   */
  update(bots: readonly IWatchedBot[]): ICrashAlert[] {
    const baseline = !this._primed;
    this._primed = true;
    const alerts: ICrashAlert[] = [];
    const present = new Set<string>();
    for (const watched of bots) {
      const { bot } = watched;
      present.add(bot.id);
      if (bot.state !== 'crashed') {
        continue;
      }
      const key = crashKey(watched);
      if (this._announced.get(bot.id) === key) {
        continue;
      }
      this._announced.set(bot.id, key);
      if (baseline) {
        continue;
      }
      const reason = bot.reason ?? bot.lastError;
      alerts.push({
        id: bot.id,
        name: bot.name,
        reason,
        error: bot.lastError,
        crashLoop: reason !== null && reason.startsWith(CRASH_LOOP_PREFIX),
        key
      });
    }
    // A deleted bot's crash is forgotten; its id is never reused.
    for (const id of [...this._announced.keys()]) {
      if (!present.has(id)) {
        this._announced.delete(id);
      }
    }
    return alerts;
  }

  /** Start over: the next answer is a baseline again (used when alerts are switched on). */
  reset(): void {
    this._primed = false;
    this._announced.clear();
  }

  private _primed = false;
  /** The last crash seen of each bot (announced, or part of the baseline). */
  private _announced = new Map<string, string>();
}
