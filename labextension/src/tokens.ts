/**
 * What the WatchDog Lab core plugin shares with the plugins that build on it.
 *
 * Plugins that add panels to the sidebar require this token instead of making their own client
 * and model, so every panel shows the same vault state and the server is asked once, not once
 * per panel.
 */
import { Token } from '@lumino/coreutils';

import { WatchdogApiClient } from './api';
import { VaultModel } from './model';

export interface IWatchdogLab {
  /** The client for the server extension's REST routes. */
  readonly api: WatchdogApiClient;
  /** The vault state, polled at the pace the user's settings give. */
  readonly vaultModel: VaultModel;
}

export const IWatchdogLab = new Token<IWatchdogLab>(
  'watchdog-lab:IWatchdogLab',
  'The WatchDog Lab API client and vault model, shared by the sidebar and its panels.'
);
