/**
 * The command ids of Fix with AI, apart from the plugin so that a view (the Bots card, a crash
 * notification) can name them without loading the notebook packages the plugin needs.
 */
export namespace AIFixCommandIDs {
  /** Fix the active notebook cell's error. */
  export const fixCell = 'watchdog-lab:fix-cell';
  /** Fix a bot's failed run; args `{bot: string}` (the bot's name). */
  export const fixBot = 'watchdog-lab:fix-bot';
}
