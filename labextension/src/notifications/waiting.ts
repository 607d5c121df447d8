/**
 * Which bots wait for the vault to be unlocked, from successive answers of `GET bots`.
 *
 * A bot that needs its connections and lost its runner while the vault was locked (a killed
 * runner, a restarted machine) cannot start again until the user unlocks: its keys are
 * decrypted only then. The server lists it as `waiting-for-unlock`. That is a condition to
 * act on, not an event: unlike a crash, one already there when the page loads is announced
 * too, and the announcement lasts as long as the condition (it is updated as bots join or
 * leave the set, and withdrawn once none waits).
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { IBotSummary } from '../components/bots/bots';

/** JupyterLab cuts a notification's message at 140 characters. */
export const MAX_MESSAGE = 140;

/** What to do with the notification after an answer. */
export type WaitingChange = { kind: 'none' } | { kind: 'show'; names: string[] } | { kind: 'hide' };

export class WaitingDetector {
  /** Give the bots of one answer; returns what the notification should become. */
  update(bots: readonly IBotSummary[]): WaitingChange {
    const names = bots
      .filter(bot => bot.state === 'waiting-for-unlock')
      .map(bot => bot.name)
      .sort((a, b) => a.localeCompare(b));
    const key = names.join('\u0000');
    if (key === this._key) {
      return { kind: 'none' };
    }
    this._key = key;
    return names.length ? { kind: 'show', names } : { kind: 'hide' };
  }

  /** Start over (the notification was closed by the user or the plugin stopped). */
  reset(): void {
    this._key = '';
  }

  private _key = '';
}

/**
 * The words of the notification: the bots by name (as many as fit), and what to do.
 */
export function waitingMessage(names: readonly string[], trans: TranslationBundle): string {
  if (names.length === 1) {
    const text = trans.__(
      'Bot "%1" is waiting for the vault to be unlocked: it needs its connections to start.',
      names[0]
    );
    return text.length <= MAX_MESSAGE ? text : `${text.slice(0, MAX_MESSAGE - 1)}…`;
  }
  const head = trans.__('%1 bots are waiting for the vault to be unlocked: ', names.length);
  let listed = '';
  for (const name of names) {
    const next = listed ? `${listed}, "${name}"` : `"${name}"`;
    if (head.length + next.length + 2 > MAX_MESSAGE) {
      return `${head}${listed}, …`;
    }
    listed = next;
  }
  return `${head}${listed}.`;
}
