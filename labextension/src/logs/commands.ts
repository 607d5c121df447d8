/**
 * The command ids other parts of the front end run, and the React context that hands the
 * application's command registry to the sidebar's components (a bot's "Logs" button runs a
 * command instead of knowing how a log view is opened).
 */
import type { CommandRegistry } from '@lumino/commands';
import * as React from 'react';

/** Open (or bring forward) the live log of a bot; args `{ bot: string }`. */
export const OPEN_BOT_LOGS = 'watchdog-lab:open-bot-logs';
/** Propose an AI fix for a bot's failed run; args `{ bot: string }`. Provided elsewhere. */
export const FIX_BOT = 'watchdog-lab:fix-bot';

/** The application's commands, or `null` where there are none (component tests). */
export const CommandsContext = React.createContext<CommandRegistry | null>(null);
