/**
 * What the promote dialog tells the rest of the front end: a bot was created, so the Bots card
 * lists again at once instead of at its next poll.
 */
import { Signal } from '@lumino/signaling';

const sender = {};

/** Emits the new bot's name after a promote finished. */
export const botsChanged = new Signal<object, string>(sender);

export function announceBotsChanged(botName: string): void {
  botsChanged.emit(botName);
}
