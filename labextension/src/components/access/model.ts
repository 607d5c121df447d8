/**
 * Notebook access: which connections the current notebook's kernel may use, and who uses each
 * connection, kept fresh while the sidebar is visible.
 *
 * A grant belongs to one kernel id (the server forgets it when the kernel restarts or shuts
 * down), so the model follows the current notebook's kernel: it asks again when the notebook,
 * its kernel or the kernel's status changes, and on a poll. Neither route it polls counts as a
 * vault use, so an open sidebar never holds off the auto-lock. It holds no secret: the password
 * of a grant passes through `grant` to the request and is not kept.
 */
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import { WatchdogApiClient } from '../../api';
import { VaultModel } from '../../model';
import { accessRows, IAccessRow, IConnectionUsage } from './grants';

/** The notebook the access list is about: its path and its kernel, if it has one. */
export interface INotebookRef {
  path: string;
  kernelId: string | null;
}

/** Where the current notebook comes from (the notebook tracker, in JupyterLab). */
export interface INotebookSource {
  readonly current: INotebookRef | null;
  /** Emitted when the current notebook, its path, its kernel or the kernel's status changes. */
  readonly changed: ISignal<unknown, void>;
}

/** What the notebook access section shows. */
export type NotebookAccess =
  | { kind: 'locked' }
  | { kind: 'no-notebook' }
  | { kind: 'no-kernel'; path: string }
  | { kind: 'loading'; path: string; kernelId: string }
  | { kind: 'ready'; path: string; kernelId: string; rows: IAccessRow[] }
  | { kind: 'error'; path: string; kernelId: string; message: string };

export namespace AccessModel {
  export interface IOptions {
    api: WatchdogApiClient;
    vault: VaultModel;
    notebooks: INotebookSource | null;
    /** Seconds between two polls while `isActive()` (the sidebar's refresh setting). */
    refreshSeconds: number;
    /** Whether anyone can see the answer (the sidebar is visible); polls wait otherwise. */
    isActive: () => boolean;
  }
}

export class AccessModel {
  constructor(options: AccessModel.IOptions) {
    this._api = options.api;
    this._vault = options.vault;
    this._notebooks = options.notebooks;
    this._isActive = options.isActive;
    this._poll = new Poll({
      name: 'watchdog-lab:notebook-access',
      factory: () => this._fetch(),
      frequency: frequencyOf(options.refreshSeconds),
      standby: () => (this._isActive() && this._unlocked() ? 'when-hidden' : true)
    });
    this._vault.changed.connect(this._onVaultChanged, this);
    this._notebooks?.changed.connect(this._onNotebookChanged, this);
    this._wasUnlocked = this._unlocked();
    this._access = this._initialAccess();
  }

  /** Emitted whenever `access` or `usage` changes. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get access(): NotebookAccess {
    return this._access;
  }

  /** Who uses each connection; `null` until known (and while the vault is locked). */
  get usage(): readonly IConnectionUsage[] | null {
    return this._usage;
  }

  /** Seconds between polls; a change applies from the next one. */
  get refreshSeconds(): number {
    return this._poll.frequency.interval / MS_PER_SECOND;
  }

  set refreshSeconds(value: number) {
    if (value !== this.refreshSeconds) {
      this._poll.frequency = frequencyOf(value);
    }
  }

  get isDisposed(): boolean {
    return this._poll.isDisposed;
  }

  /** Ask now (a notebook switch, a grant, the refresh button); resolves once the answer is in. */
  async refresh(): Promise<void> {
    if (this.isDisposed) {
      return;
    }
    await this._fetch().catch(() => undefined);
  }

  /**
   * Grant a connection to the current notebook's kernel with the vault password. The caller
   * has emptied its input already; the password lives in this call's arguments only.
   */
  async grant(connectionId: string, password: string): Promise<void> {
    const kernelId = this._kernelId();
    try {
      await this._api.grantToKernel(kernelId, connectionId, password);
    } finally {
      await this.refresh();
    }
  }

  /** Withdraw the current kernel's grant now: its next `wd.connection` call is refused. */
  async revoke(connectionId: string): Promise<void> {
    const kernelId = this._kernelId();
    try {
      await this._api.revokeFromKernel(kernelId, connectionId);
    } finally {
      await this.refresh();
    }
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._poll.dispose();
    Signal.clearData(this);
  }

  private _kernelId(): string {
    const kernelId = this._notebooks?.current?.kernelId;
    if (!kernelId) {
      throw new Error('The notebook has no kernel.');
    }
    return kernelId;
  }

  private _unlocked(): boolean {
    const status = this._vault.status;
    return status.kind === 'ready' && status.state === 'unlocked';
  }

  /** The state before any request: what needs no answer from the server. */
  private _initialAccess(): NotebookAccess {
    if (!this._unlocked()) {
      return { kind: 'locked' };
    }
    const notebook = this._notebooks?.current ?? null;
    if (notebook === null) {
      return { kind: 'no-notebook' };
    }
    if (notebook.kernelId === null) {
      return { kind: 'no-kernel', path: notebook.path };
    }
    return { kind: 'loading', path: notebook.path, kernelId: notebook.kernelId };
  }

  private _onVaultChanged(): void {
    const unlocked = this._unlocked();
    if (unlocked === this._wasUnlocked) {
      return;
    }
    this._wasUnlocked = unlocked;
    if (!unlocked) {
      this._usage = null;
    }
    this._set(this._initialAccess());
    if (unlocked) {
      void this.refresh();
    }
  }

  private _onNotebookChanged(): void {
    const before = this._access;
    const next = this._initialAccess();
    // A new notebook or kernel shows "loading" rather than the previous kernel's grants.
    if (!(next.kind === 'loading' && sameKernel(before, next))) {
      this._set(next);
    }
    void this.refresh();
  }

  private async _fetch(): Promise<void> {
    if (!this._unlocked()) {
      this._set({ kind: 'locked' });
      return;
    }
    const notebook = this._notebooks?.current ?? null;
    const kernelId = notebook?.kernelId ?? null;
    const usage = this._api.connectionUsage();
    const grants = kernelId !== null ? this._api.kernelGrants(kernelId) : Promise.resolve(null);
    let found: Awaited<typeof usage>;
    let held: Awaited<typeof grants>;
    try {
      [found, held] = await Promise.all([usage, grants]);
    } catch (error) {
      if (notebook !== null && kernelId !== null && this._isCurrent(notebook)) {
        const message = error instanceof Error ? error.message : String(error);
        this._set({ kind: 'error', path: notebook.path, kernelId, message });
      }
      throw error; // the poll backs off
    }
    if (this.isDisposed || !this._isCurrent(notebook)) {
      return; // the notebook changed meanwhile; its own request is on the way
    }
    this._setUsage(found);
    if (notebook === null) {
      this._set({ kind: 'no-notebook' });
    } else if (notebook.kernelId === null || held === null) {
      this._set({ kind: 'no-kernel', path: notebook.path });
    } else {
      this._set({
        kind: 'ready',
        path: notebook.path,
        kernelId: notebook.kernelId,
        rows: accessRows(found, held)
      });
    }
  }

  private _isCurrent(notebook: INotebookRef | null): boolean {
    const now = this._notebooks?.current ?? null;
    return (
      (now === null && notebook === null) ||
      (now !== null &&
        notebook !== null &&
        now.path === notebook.path &&
        now.kernelId === notebook.kernelId)
    );
  }

  private _setUsage(usage: IConnectionUsage[]): void {
    if (JSON.stringify(usage) === JSON.stringify(this._usage)) {
      return;
    }
    this._usage = usage;
    this._changed.emit();
  }

  private _set(access: NotebookAccess): void {
    if (this.isDisposed || JSON.stringify(access) === JSON.stringify(this._access)) {
      return;
    }
    this._access = access;
    this._changed.emit();
  }

  private _access: NotebookAccess;
  private _api: WatchdogApiClient;
  private _changed = new Signal<this, void>(this);
  private _isActive: () => boolean;
  private _notebooks: INotebookSource | null;
  private _poll: Poll;
  private _usage: IConnectionUsage[] | null = null;
  private _vault: VaultModel;
  private _wasUnlocked: boolean;
}

/** The longest wait, in polls, the backoff reaches while the server does not answer. */
const BACKOFF = 6;
const MS_PER_SECOND = 1000;

function frequencyOf(seconds: number): { interval: number; backoff: boolean; max: number } {
  const interval = seconds * MS_PER_SECOND;
  return { interval, backoff: true, max: interval * BACKOFF };
}

function sameKernel(a: NotebookAccess, b: NotebookAccess): boolean {
  return (
    'kernelId' in a &&
    'kernelId' in b &&
    a.kernelId === b.kernelId &&
    'path' in a &&
    'path' in b &&
    a.path === b.path
  );
}
