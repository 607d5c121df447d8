/**
 * What the sidebar knows about the vault, kept fresh by polling only while someone looks.
 *
 * The model owns the polling so that views stay dumb: a view renders `status` and calls
 * `refresh()`; it never fetches on its own.
 */
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import {
  ISandboxLevels,
  ITotpEnrolment,
  VaultState,
  WatchdogApiClient,
  WatchdogApiError
} from './api';
import { DEFAULT_SETTINGS } from './settings';

/** What the sidebar shows: still asking, an answer, or why there is none. */
export type VaultStatus =
  | { kind: 'loading' }
  | { kind: 'ready'; state: VaultState; totpEnabled?: boolean; locksAt?: number }
  | { kind: 'error'; message: string; unreachable: boolean };

/** The sandbox levels shown under the vault: fetched on opening and on refresh, not polled. */
export type SandboxStatus =
  { kind: 'loading' } | ({ kind: 'ready' } & ISandboxLevels) | { kind: 'error'; message: string };

/** How often the vault state is asked for, in milliseconds. */
export interface IPolling {
  /** Between two requests while the sidebar is visible and the server answers. */
  interval: number;
  /** The longest wait the backoff reaches while the server does not answer. */
  backoffLimit: number;
}

const MS_PER_SECOND = 1000;

/** The polling the default settings give. */
export const DEFAULT_POLLING: Readonly<IPolling> = {
  interval: DEFAULT_SETTINGS.vaultRefreshInterval * MS_PER_SECOND,
  backoffLimit: DEFAULT_SETTINGS.vaultRefreshBackoffLimit * MS_PER_SECOND
};

/** The polling for settings given in seconds, as the settings schema states them. */
export function pollingFromSeconds(interval: number, backoffLimit: number): IPolling {
  return { interval: interval * MS_PER_SECOND, backoffLimit: backoffLimit * MS_PER_SECOND };
}

export namespace VaultModel {
  export interface IOptions {
    /** The client every request goes through. */
    api: WatchdogApiClient;
    /** How often to ask while active; `DEFAULT_POLLING` if not given. */
    polling?: IPolling;
  }
}

export class VaultModel {
  constructor(options: VaultModel.IOptions) {
    this._api = options.api;
    this._poll = new Poll({
      name: 'watchdog-lab:vault-status',
      factory: () => this._fetch(),
      // Skip ticks while the sidebar is closed or the browser tab is hidden, but never the one
      // an explicit refresh asked for.
      standby: () => (this._refreshPending ? 'never' : !this._active || 'when-hidden')
    });
    this.polling = options.polling ?? DEFAULT_POLLING;
  }

  /** Emitted whenever `status` or `sandbox` changes. */
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

  /** How often the vault state is asked for. A change applies at once: while active, the
   * state is asked for now and then at the new pace, not after the old wait ends. */
  get polling(): IPolling {
    const { interval, max } = this._poll.frequency;
    return { interval, backoffLimit: max };
  }

  set polling(value: IPolling) {
    const frequency = {
      interval: value.interval,
      backoff: true,
      max: Math.max(value.interval, value.backoffLimit)
    };
    const { interval, max } = this._poll.frequency;
    if (interval === frequency.interval && max === frequency.max) {
      return;
    }
    this._poll.frequency = frequency;
    if (this._active) {
      void this._refreshVault();
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

  /** Create the vault; the sidebar shows the new state at once, not at the next poll. */
  async create(password: string): Promise<void> {
    await this._act(() => this._api.createVault(password));
  }

  async unlock(password: string, totpCode?: string): Promise<void> {
    await this._act(() => this._api.unlockVault(password, totpCode));
  }

  async lock(): Promise<void> {
    await this._act(() => this._api.lockVault());
  }

  async changePassword(oldPassword: string, newPassword: string): Promise<void> {
    await this._act(() => this._api.changeVaultPassword(oldPassword, newPassword));
  }

  /** Begin two-factor enrolment; the vault state does not change until it is confirmed. */
  async beginTotp(password: string): Promise<ITotpEnrolment> {
    return this._api.beginTotp(password);
  }

  async confirmTotp(password: string, secret: string, code: string): Promise<void> {
    await this._act(() => this._api.confirmTotp(password, secret, code));
  }

  async disableTotp(password: string, code: string): Promise<void> {
    await this._act(() => this._api.disableTotp(password, code));
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._poll.dispose();
    Signal.clearData(this);
  }

  /** Run a vault action, then ask for the state whether it worked or not: a refused unlock
   * may still mean the vault changed meanwhile (another tab, the auto-lock). The action's
   * error is rethrown for the form to show. */
  private async _act(action: () => Promise<unknown>): Promise<void> {
    try {
      await action();
    } finally {
      if (!this.isDisposed) {
        await this._refreshVault();
      }
    }
  }

  private async _refreshVault(): Promise<void> {
    this._refreshPending = true;
    await this._poll.refresh();
    // A tick always resolves, failed or not: a failure is already reflected in `status`.
    await this._poll.tick;
  }

  private async _fetchSandbox(): Promise<void> {
    let sandbox: SandboxStatus;
    try {
      const levels = await this._api.sandboxLevels();
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
    this._refreshPending = false;
    try {
      this._setStatus({ kind: 'ready', ...(await this._api.vaultStatus()) });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const unreachable = error instanceof WatchdogApiError ? error.unreachable : true;
      this._setStatus({ kind: 'error', message, unreachable });
      // Rejecting makes the poll back off while the server is away.
      throw error;
    }
  }

  private _setStatus(status: VaultStatus): void {
    if (this.isDisposed || sameStatus(this._status, status)) {
      return;
    }
    this._status = status;
    this._changed.emit();
  }

  private _active = false;
  private _api: WatchdogApiClient;
  private _changed = new Signal<this, void>(this);
  private _poll: Poll;
  private _refreshPending = false;
  private _status: VaultStatus = { kind: 'loading' };
  private _sandbox: SandboxStatus = { kind: 'loading' };
}

function sameStatus(a: VaultStatus | SandboxStatus, b: VaultStatus | SandboxStatus): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
