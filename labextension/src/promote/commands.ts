/**
 * The command ids this part of the front end provides (other parts refer to the strings).
 */

/** Promote the current notebook (saved first) through the promote dialog. */
export const PROMOTE = 'watchdog-lab:promote';
/** Open one executed notebook of a bot, read-only; args `{ bot: string, run: string }`. */
export const OPEN_BOT_RUN = 'watchdog-lab:open-bot-run';
/** Open a copy of a bot's current notebook version on the bot's kernel; args `{ bot }`. */
export const OPEN_BOT_NOTEBOOK = 'watchdog-lab:open-bot-notebook';
