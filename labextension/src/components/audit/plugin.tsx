/**
 * The audit view: a main-area panel over the vault's audit trail, opened by the
 * `watchdog-lab:open-audit` command (the Vault card's button, the command palette).
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget, ReactWidget } from '@jupyterlab/apputils';
import { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { WatchdogApiClient } from '../../api';
import { watchdogIcon } from '../../icons';
import { IWatchdogLab } from '../../tokens';
import { loadTranslation } from '../../translation';
import { AuditView } from './AuditView';
import { OPEN_AUDIT_COMMAND } from './command';

export { OPEN_AUDIT_COMMAND };

/** DOM id of the audit panel. */
export const AUDIT_PANEL_ID = 'watchdog-lab-audit';

/** The audit view's content, a React widget over one API client. */
export class AuditPanel extends ReactWidget {
  constructor(
    private readonly _api: WatchdogApiClient,
    private readonly _trans: TranslationBundle
  ) {
    super();
    this.addClass('wd-audit-panel');
  }

  protected render(): JSX.Element {
    return <AuditView api={this._api} trans={this._trans} />;
  }
}

export const auditPlugin: JupyterFrontEndPlugin<void> = {
  id: 'watchdog-lab:audit',
  description: 'The WatchDog Lab audit log, filterable, in the main area.',
  autoStart: true,
  requires: [IWatchdogLab],
  optional: [ICommandPalette, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    watchdog: IWatchdogLab,
    palette: ICommandPalette | null,
    translator: ITranslator | null
  ): void => {
    const trans = loadTranslation(translator);
    let panel: MainAreaWidget<AuditPanel> | null = null;
    app.commands.addCommand(OPEN_AUDIT_COMMAND, {
      label: trans.__('Open the Audit Log'),
      caption: trans.__('Show what was done to the vault, its connections and bots'),
      execute: () => {
        if (panel === null || panel.isDisposed) {
          panel = new MainAreaWidget({ content: new AuditPanel(watchdog.api, trans) });
          panel.id = AUDIT_PANEL_ID;
          panel.title.label = trans.__('Audit Log');
          panel.title.icon = watchdogIcon;
          panel.title.closable = true;
        }
        if (!panel.isAttached) {
          app.shell.add(panel, 'main');
        }
        app.shell.activateById(panel.id);
      }
    });
    palette?.addItem({ command: OPEN_AUDIT_COMMAND, category: trans.__('WatchDog Lab') });
  }
};
