import { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import type { CommandRegistry } from '@lumino/commands';
import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import * as React from 'react';

import { WatchdogApiClient } from './api';
import { AccessContext } from './components/access/ConnectionUsage';
import { AccessModel } from './components/access/model';
import { NotebookAccessSection } from './components/access/NotebookAccessSection';
import { BackupsSection } from './components/backups/BackupsSection';
import { BotsSection } from './components/bots/BotsSection';
import { ConnectionsSection } from './components/connections/ConnectionsSection';
import { SandboxView } from './components/SandboxView';
import { VaultStatusView } from './components/VaultStatusView';
import { VaultSection } from './components/vault/VaultSection';
import { watchdogIcon } from './icons';
import { CommandsContext } from './logs/commands';
import { VaultModel } from './model';
import { DEFAULT_SETTINGS } from './settings';
import { loadTranslation } from './translation';

/** DOM id of the sidebar; also the key the layout restorer remembers it by. */
export const SIDEBAR_ID = 'watchdog-lab-sidebar';

const MS_PER_SECOND = 1000;

export namespace WatchdogSidebar {
  export interface IOptions {
    /** Shared with other plugins; the sidebar does not own it and never disposes it. */
    model: VaultModel;
    /** The client the sections that change things (connections) send through; without it
     * they are not shown. */
    api?: WatchdogApiClient | null;
    /** The application's commands, for the buttons that open other views (a bot's log). */
    commands?: CommandRegistry | null;
    /** The current notebook's access and each connection's usage; without it the notebook
     * access card is not shown. Shared, not owned: the sidebar never disposes it. */
    access?: AccessModel | null;
    translator?: ITranslator | null;
  }
}

/**
 * The WatchDog Lab left-sidebar panel.
 *
 * It tells its model when it is visible, so the server is polled only while someone can see the
 * answer. Later panels (unlock form, connections, bots) become further sections of this widget.
 */
export class WatchdogSidebar extends ReactWidget {
  constructor(options: WatchdogSidebar.IOptions) {
    super();
    this._model = options.model;
    this._api = options.api ?? null;
    this._commands = options.commands ?? null;
    this._access = options.access ?? null;
    this._trans = loadTranslation(options.translator);
    this.id = SIDEBAR_ID;
    this.addClass('jp-WatchdogLab-sidebar');
    this.title.icon = watchdogIcon;
    this.title.caption = this._trans.__('WatchDog Lab');
    this.title.label = '';
  }

  get model(): VaultModel {
    return this._model;
  }

  /** Seconds between two bot list requests while the sidebar is visible (a user setting). */
  get botsRefreshInterval(): number {
    return this._botsRefreshInterval;
  }

  set botsRefreshInterval(seconds: number) {
    if (seconds === this._botsRefreshInterval) {
      return;
    }
    this._botsRefreshInterval = seconds;
    this.update();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._model.active = false;
    super.dispose();
  }

  protected render(): JSX.Element {
    return (
      <CommandsContext.Provider value={this._commands}>
        <AccessContext.Provider value={this._access}>{this._panel()}</AccessContext.Provider>
      </CommandsContext.Provider>
    );
  }

  private _panel(): JSX.Element {
    const trans = this._trans;
    return (
      <div className="jp-WatchdogLab-panel" data-testid="watchdog-sidebar">
        <h2 className="jp-WatchdogLab-title">
          <watchdogIcon.react tag="span" className="jp-WatchdogLab-titleIcon" />
          {trans.__('WatchDog Lab')}
        </h2>
        <UseSignal signal={this._model.changed}>
          {() => (
            <>
              <VaultStatusView
                status={this._model.status}
                refreshing={this._refreshing}
                onRefresh={this._onRefresh}
                trans={trans}
              >
                <VaultSection status={this._model.status} model={this._model} trans={trans} />
              </VaultStatusView>
              {this._api && (
                <ConnectionsSection
                  key={`connections-${this._restores}`}
                  api={this._api}
                  vault={this._model.status}
                  trans={trans}
                />
              )}
              {this._access && <NotebookAccessSection model={this._access} trans={trans} />}
              {this._api && (
                <BotsSection
                  key={`bots-${this._restores}`}
                  api={this._api}
                  active={this._visible}
                  interval={this._botsRefreshInterval * MS_PER_SECOND}
                  trans={trans}
                />
              )}
              {this._api && (
                <BackupsSection
                  api={this._api}
                  vault={this._model.status}
                  active={this._visible}
                  interval={this._botsRefreshInterval * MS_PER_SECOND}
                  trans={trans}
                  onRestored={this._onRestored}
                />
              )}
              <SandboxView sandbox={this._model.sandbox} trans={trans} />
            </>
          )}
        </UseSignal>
      </div>
    );
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this._model.active = this.isVisible;
    this._setVisible(this.isVisible);
  }

  protected onBeforeDetach(msg: Message): void {
    this._model.active = false;
    this._setVisible(false);
    super.onBeforeDetach(msg);
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._model.active = true;
    this._setVisible(true);
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this._model.active = false;
    this._setVisible(false);
  }

  /** The bots card polls only while this is true; it re-renders to start or stop. */
  private _setVisible(visible: boolean): void {
    if (visible !== this._visible) {
      this._visible = visible;
      this.update();
    }
  }

  private _onRefresh = (): void => {
    this._refreshing = true;
    this.update();
    void this._model.refresh().finally(() => {
      this._refreshing = false;
      this.update();
    });
  };

  /** A restore replaced the vault's contents under every card: the vault state and the
   * notebook access are asked for again, and the connections and bots cards are mounted
   * afresh (a new key), which lists again and closes any form about a record now gone. */
  private _onRestored = (): void => {
    this._restores += 1;
    void this._model.refresh();
    void this._access?.refresh();
    this.update();
  };

  private _access: AccessModel | null;
  private _api: WatchdogApiClient | null;
  private _commands: CommandRegistry | null;
  private _botsRefreshInterval = DEFAULT_SETTINGS.botsRefreshInterval;
  private _model: VaultModel;
  private _refreshing = false;
  private _restores = 0;
  private _trans: TranslationBundle;
  private _visible = false;
}
