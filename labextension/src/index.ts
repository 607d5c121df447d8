/**
 * WatchDog Lab front end: registers the left-sidebar panel and its commands.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';

import { VaultStatusModel } from './model';
import { SIDEBAR_ID, WatchdogSidebar } from './widget';

export namespace CommandIDs {
  export const open = 'watchdog-lab:open';
  export const refresh = 'watchdog-lab:refresh-vault';
}

/** Rank among left-sidebar tabs: after the built-in file browser, kernels, TOC and extensions. */
const SIDEBAR_RANK = 800;

const PALETTE_CATEGORY = 'WatchDog Lab';

const sidebarPlugin: JupyterFrontEndPlugin<void> = {
  id: 'watchdog-lab:sidebar',
  description: 'The WatchDog Lab sidebar: vault state, connections and bots.',
  autoStart: true,
  optional: [ILayoutRestorer, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null
  ): void => {
    const model = new VaultStatusModel({
      serverSettings: app.serviceManager.serverSettings
    });
    const sidebar = new WatchdogSidebar(model);
    app.shell.add(sidebar, 'left', { rank: SIDEBAR_RANK });
    restorer?.add(sidebar, SIDEBAR_ID);

    app.commands.addCommand(CommandIDs.open, {
      label: 'Open WatchDog Lab',
      caption: 'Show the WatchDog Lab sidebar',
      execute: () => app.shell.activateById(SIDEBAR_ID)
    });
    app.commands.addCommand(CommandIDs.refresh, {
      label: 'Refresh Vault State',
      caption: 'Ask the server for the vault state now',
      execute: () => model.refresh()
    });
    palette?.addItem({ command: CommandIDs.open, category: PALETTE_CATEGORY });
    palette?.addItem({ command: CommandIDs.refresh, category: PALETTE_CATEGORY });
  }
};

export default [sidebarPlugin];
