/**
 * WatchDog Lab front end.
 *
 * Two plugins: the core one shares the API client and the vault model through `IWatchdogLab`
 * and applies the user's settings to them; the sidebar plugin requires that token, as every later
 * panel will, instead of building its own client. Beside them, the bot log views (`logs/`) and
 * the crash alerts (`alerts/`) are plugins of their own on the same token.
 */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator } from '@jupyterlab/translation';

import { aifixPlugin } from './aifix/plugin';
import { alertsPlugin } from './alerts/plugin';
import { WatchdogApiClient } from './api';
import { bridgePlugin } from './bridge/plugin';
import { AccessModel } from './components/access/model';
import { CurrentNotebook } from './components/access/notebooks';
import { auditPlugin } from './components/audit/plugin';
import { logsPlugin } from './logs/plugin';
import { promotePlugin } from './promote/plugin';
import { pollingFromSeconds, VaultModel } from './model';
import { DEFAULT_SETTINGS, readSettings, SETTINGS_PLUGIN_ID } from './settings';
import { IWatchdogLab } from './tokens';
import { loadTranslation } from './translation';
import { SIDEBAR_ID, WatchdogSidebar } from './widget';

export { WatchdogApiClient, WatchdogApiError } from './api';
export { VaultModel } from './model';
export { IWatchdogLab } from './tokens';

export namespace CommandIDs {
  export const open = 'watchdog-lab:open';
  export const refresh = 'watchdog-lab:refresh-vault';
}

/** The core plugin's id; its settings schema is `schema/plugin.json`. */
export const CORE_PLUGIN_ID = SETTINGS_PLUGIN_ID;

/** Rank among left-sidebar tabs: after the built-in file browser, kernels, TOC and extensions. */
const SIDEBAR_RANK = 800;

export const corePlugin: JupyterFrontEndPlugin<IWatchdogLab> = {
  id: CORE_PLUGIN_ID,
  description: 'The WatchDog Lab API client and vault model, configured by the user settings.',
  autoStart: true,
  provides: IWatchdogLab,
  optional: [ISettingRegistry, ITranslator, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    settingRegistry: ISettingRegistry | null,
    translator: ITranslator | null,
    palette: ICommandPalette | null
  ): IWatchdogLab => {
    const trans = loadTranslation(translator);
    const api = new WatchdogApiClient({
      serverSettings: app.serviceManager.serverSettings,
      translator
    });
    const vaultModel = new VaultModel({ api });

    if (settingRegistry) {
      void settingRegistry
        .load(CORE_PLUGIN_ID)
        .then(settings => {
          const apply = (): void => {
            const values = readSettings(settings.composite);
            vaultModel.polling = pollingFromSeconds(
              values.vaultRefreshInterval,
              values.vaultRefreshBackoffLimit
            );
          };
          apply();
          settings.changed.connect(apply);
        })
        .catch(reason => {
          console.error(
            trans.__('WatchDog Lab settings could not be loaded; using the defaults.'),
            reason
          );
        });
    }

    app.commands.addCommand(CommandIDs.refresh, {
      label: trans.__('Refresh Vault State'),
      caption: trans.__('Ask the server for the vault state now'),
      execute: () => vaultModel.refresh()
    });
    palette?.addItem({ command: CommandIDs.refresh, category: trans.__('WatchDog Lab') });

    return { api, vaultModel };
  }
};

export const sidebarPlugin: JupyterFrontEndPlugin<void> = {
  id: 'watchdog-lab:sidebar',
  description: 'The WatchDog Lab sidebar: vault state, connections and bots.',
  autoStart: true,
  requires: [IWatchdogLab],
  optional: [ILayoutRestorer, ICommandPalette, ITranslator, ISettingRegistry, INotebookTracker],
  activate: (
    app: JupyterFrontEnd,
    watchdog: IWatchdogLab,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    translator: ITranslator | null,
    settingRegistry: ISettingRegistry | null,
    notebooks: INotebookTracker | null
  ): void => {
    const trans = loadTranslation(translator);
    // Polls only while the sidebar shows it (`sidebar` is set right below).
    const access: AccessModel = new AccessModel({
      api: watchdog.api,
      vault: watchdog.vaultModel,
      notebooks: notebooks ? new CurrentNotebook(notebooks) : null,
      refreshSeconds: DEFAULT_SETTINGS.botsRefreshInterval,
      isActive: () => sidebar.isVisible
    });
    const sidebar = new WatchdogSidebar({
      model: watchdog.vaultModel,
      api: watchdog.api,
      commands: app.commands,
      access,
      translator
    });
    app.shell.add(sidebar, 'left', { rank: SIDEBAR_RANK });
    if (settingRegistry) {
      // The core plugin reports a settings failure; here the default interval simply stays.
      void settingRegistry
        .load(CORE_PLUGIN_ID)
        .then(settings => {
          const apply = (): void => {
            sidebar.botsRefreshInterval = readSettings(settings.composite).botsRefreshInterval;
            access.refreshSeconds = sidebar.botsRefreshInterval;
          };
          apply();
          settings.changed.connect(apply);
        })
        .catch(() => undefined);
    }
    restorer?.add(sidebar, SIDEBAR_ID);

    app.commands.addCommand(CommandIDs.open, {
      label: trans.__('Open WatchDog Lab'),
      caption: trans.__('Show the WatchDog Lab sidebar'),
      execute: () => app.shell.activateById(SIDEBAR_ID)
    });
    palette?.addItem({ command: CommandIDs.open, category: trans.__('WatchDog Lab') });
  }
};

export default [
  corePlugin,
  sidebarPlugin,
  logsPlugin,
  alertsPlugin,
  aifixPlugin,
  auditPlugin,
  promotePlugin,
  bridgePlugin
];
