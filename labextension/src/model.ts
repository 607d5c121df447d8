/**
 * What the sidebar knows about the vault, kept fresh by polling only while someone looks.
 *
 * The model owns the polling so that views stay dumb: a view renders `status` and calls
 * `refresh()`; it never fetches on its own.
 */
import { ServerConnection } from '@jupyterlab/services';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import {
  fetchSandboxLevels,
  fetchVaultStatus,
  ISandboxLevels,
  VaultState,
  WatchdogApiError
} from './api';

/** What the sidebar shows: still asking, an answer, or why there is none. */
export type VaultStatus =
  | { kind: 'loading' }
  | { kind: 'ready'; state: VaultState }
  | { kind: 'error'; message: string; unreachable: boolean };

/** The sandbox levels shown under the vault: fetched on opening and on refresh, not polled. */
export type SandboxStatus =
  | { kind: 'loading' }
  | ({ kind: 'ready' } & ISandboxLevels)
  | { kind: 'error'; message: string };

export namespace VaultStatusModel {
  export interface IOptions {
    serverSettings?: ServerConnection.ISettings;
    /** Milliseconds between polls while the sidebar is visible. */
    interval?: number;
  }
}

/** Default poll interval: quick enough to notice a lock from another tab, cheap for the server. */
export const DEFAULT_POLL_INTERVAL = 5000;

/** Backed-off ceiling while the server does not answer. */
const MAX_POLL_INTERVAL = 60000;

export class VaultStatusModel {
  constructor(options: VaultStatusModel.IOptions = {}) {
    this._serverSettings = options.serverSettings ?? ServerConnection.makeSettings();
    const interval = options.interval ?? DEFAULT_POLL_INTERVAL;
    this._poll = new Poll({
      name: 'watchdog-lab:vault-status',
      factory: () => this._fetch(),
      frequency: { interval, backoff: true, max: Math.max(interval, MAX_POLL_INTERVAL) },
      // Skip ticks while the sidebar is closed or the browser tab is hidden.
      standby: () => !this._active || 'when-hidden'
    });
  }

  /** Emitted whenever `status` changes. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get status(): VaultStatus {
    return this._status;
  }

  /** Settings change only with a server restart, so these are asked for when the sidebar
   * becomes visible and on refresh, never on the poll. */
  get sandbox(): SandboxStatus {
    return this._sandbox;
  }

  /** Set by the view: polling runs only while the sidebar is visible. */
  get active(): boolean {
    return this._active;
  }

  set active(value: boolean) {
    if (value === this._active) {
      return;
    }
    this._active = value;
    if (value) {
      // Becoming visible shows a fresh state (and sandbox levels) at once.
      void this.refresh();
    }
  }

  get isDisposed(): boolean {
    return this._poll.isDisposed;
  }

  /** Fetch now, whatever the schedule says; resolves once the new status and sandbox levels
   * are in. */
  async refresh(): Promise<void> {
    if (this.isDisposed) {
      return;
    }
    await Promise.all([this._refreshVault(), this._fetchSandbox()]);
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._poll.dispose();
    Signal.clearData(this);
  }

  private async _refreshVault(): Promise<void> {
    await this._poll.refresh();
    // A tick always resolves, failed or not: a failure is already reflected in `status`.
    await this._poll.tick;
  }

  private async _fetchSandbox(): Promise<void> {
    let sandbox: SandboxStatus;
    try {
      const levels = await fetchSandboxLevels(this._serverSettings);
      sandbox = { kind: 'ready', ...levels };
    } catch (error) {
      sandbox = { kind: 'error', message: error instanceof Error ? error.message : String(error) };
    }
    if (this.isDisposed || sameStatus(this._sandbox, sandbox)) {
      return;
    }
    this._sandbox = sandbox;
    this._changed.emit();
  }

  private async _fetch(): Promise<void> {
    try {
      const { state } = await fetchVaultStatus(this._serverSettings);
      this._setStatus({ kind: 'ready', state });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const unreachable = error instanceof WatchdogApiError ? error.unreachable : true;
      this._setStatus({ kind: 'error', message, unreachable });
      // Rejecting makes the poll back off while the server is away.
      throw error;
    }
  }

  private _setStatus(status: VaultStatus): void {
    if (sameStatus(this._status, status)) {
      return;
    }
    this._status = status;
    this._changed.emit();
  }

  private _active = false;
  private _changed = new Signal<this, void>(this);
  private _poll: Poll;
  private _serverSettings: ServerConnection.ISettings;
  private _status: VaultStatus = { kind: 'loading' };
  private _sandbox: SandboxStatus = { kind: 'loading' };
}

function sameStatus(a: VaultStatus | SandboxStatus, b: VaultStatus | SandboxStatus): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
