/**
 * One Fix with AI, from the preview to the applied fix: the dialog's state machine.
 *
 * The order is the promise made to the user: nothing leaves before the payload has been shown,
 * a send carries the SHA-256 of what was shown and the vault password typed for it, and a fix
 * changes nothing until it is accepted. The session never holds a password: the view hands it
 * over for one call and has already emptied its field.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { ISignal, Signal } from '@lumino/signaling';

import { WatchdogApiError } from '../api';
import { errorMessage } from '../connections';
import { IFixPayload, IFixProposal } from './client';

/** What is being fixed: a notebook cell or a bot's failed run. */
export interface IFixTarget {
  readonly kind: 'cell' | 'bot';
  /** Names the failing cell in the dialog's title (`Cell 4 of a.ipynb`, `Bot "looper"`). */
  readonly title: string;
  /** What a fix would send; sends nothing. */
  preview(): Promise<IFixPayload>;
  /** Send the payload whose hash is `sha256`, with the vault password. */
  send(sha256: string, password: string, connection: string | null): Promise<IFixProposal>;
  /**
   * Put the fix in place. A cell changes its source (no password: nothing leaves the browser);
   * a bot publishes a new notebook version, confirmed with the password. Resolves to the words
   * that say what was done.
   */
  apply(proposal: IFixProposal, payload: IFixPayload, password: string | null): Promise<string>;
  /** Whether `apply` is confirmed with the vault password first (a bot's publish). */
  readonly applyNeedsPassword: boolean;
  /** The label of the button that applies (`Accept`, `Fix and publish v3`). */
  readonly applyLabel: string;
  /** The `anthropic` connections to choose from; several means the user picks one. */
  connections(): Promise<string[]>;
}

export type FixStep =
  | { kind: 'previewing' }
  | {
      kind: 'preview-failed';
      error: string;
      /** The vault is locked: the user unlocks it in the sidebar, then tries again. */
      locked: boolean;
    }
  | {
      kind: 'preview';
      payload: IFixPayload;
      error: string | null;
      /** The cell, the vault or a setting changed since: this payload can no longer go. */
      stale: boolean;
    }
  | { kind: 'sending'; payload: IFixPayload }
  | { kind: 'proposal'; payload: IFixPayload; proposal: IFixProposal; error: string | null }
  | { kind: 'confirming'; payload: IFixPayload; proposal: IFixProposal; error: string | null }
  | { kind: 'applying'; payload: IFixPayload; proposal: IFixProposal }
  | { kind: 'applied'; message: string }
  | { kind: 'rejected' };

/** The server's reason when the payload rebuilt at send time is not the one previewed. */
const PAYLOAD_CHANGED = 'ai_payload_changed';
/** The server's reason when the vault must be unlocked first. */
const VAULT_LOCKED = 'vault_locked';

function isLocked(failure: unknown): boolean {
  return failure instanceof WatchdogApiError && failure.reason === VAULT_LOCKED;
}

export class FixSession {
  constructor(
    readonly target: IFixTarget,
    private readonly _trans: TranslationBundle
  ) {}

  get step(): FixStep {
    return this._step;
  }

  /** Emits after every change of step (and of the connection list). */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Emits once, when the session is over: rejected, or a cell's fix accepted. */
  get finished(): ISignal<this, void> {
    return this._finished;
  }

  /** The `anthropic` connections; the view offers a choice when there are several. */
  get connections(): string[] {
    return this._connections;
  }

  /** The connection the user chose, or `null`: the server's default, the only one. */
  get connection(): string | null {
    return this._connection;
  }

  set connection(name: string | null) {
    this._connection = name;
    this._changed.emit();
  }

  /** Ask for the preview (again); the only step that can start over. */
  async start(): Promise<void> {
    this._set({ kind: 'previewing' });
    void this._loadConnections();
    try {
      const payload = await this.target.preview();
      this._set({ kind: 'preview', payload, error: null, stale: false });
    } catch (failure) {
      this._set({
        kind: 'preview-failed',
        error: errorMessage(failure),
        locked: isLocked(failure)
      });
    }
  }

  /** Send the previewed payload with the password the user just typed. */
  async send(password: string): Promise<void> {
    const step = this._step;
    if (step.kind !== 'preview' || step.stale) {
      return;
    }
    const { payload } = step;
    this._set({ kind: 'sending', payload });
    try {
      const proposal = await this.target.send(payload.sha256, password, this.connection);
      this._set({ kind: 'proposal', payload, proposal, error: null });
    } catch (failure) {
      const stale = failure instanceof WatchdogApiError && failure.reason === PAYLOAD_CHANGED;
      this._set({ kind: 'preview', payload, error: errorMessage(failure), stale });
    }
  }

  /** Accept the proposal: a cell's is applied now, a bot's asks for confirmation first. */
  async accept(): Promise<void> {
    const step = this._step;
    if (step.kind !== 'proposal' || step.proposal.outcome !== 'fixed') {
      return;
    }
    if (this.target.applyNeedsPassword) {
      this._set({ ...step, kind: 'confirming', error: null });
      return;
    }
    await this._apply(step.payload, step.proposal, null, 'proposal');
  }

  /** Confirm a bot's publish with the vault password the user just typed. */
  async confirm(password: string): Promise<void> {
    const step = this._step;
    if (step.kind !== 'confirming') {
      return;
    }
    await this._apply(step.payload, step.proposal, password, 'confirming');
  }

  /** From the confirmation back to the proposal, publishing nothing. */
  back(): void {
    const step = this._step;
    if (step.kind === 'confirming') {
      this._set({ ...step, kind: 'proposal', error: null });
    }
  }

  /** Keep the cell (or the bot) as it is. */
  reject(): void {
    this._set({ kind: 'rejected' });
    this._finish();
  }

  /** Close the dialog once there is nothing left to do (a failed preview, a published fix). */
  close(): void {
    this._finish();
  }

  dispose(): void {
    Signal.clearData(this);
  }

  private async _apply(
    payload: IFixPayload,
    proposal: IFixProposal,
    password: string | null,
    from: 'proposal' | 'confirming'
  ): Promise<void> {
    this._set({ kind: 'applying', payload, proposal });
    try {
      const message = await this.target.apply(proposal, payload, password);
      this._set({ kind: 'applied', message });
      if (!this.target.applyNeedsPassword) {
        this._finish();
      }
    } catch (failure) {
      this._set({ kind: from, payload, proposal, error: errorMessage(failure) });
    }
  }

  private async _loadConnections(): Promise<void> {
    try {
      this._connections = await this.target.connections();
    } catch {
      // The preview reports a locked vault or an unreachable server in its own words.
      this._connections = [];
    }
    if (this._connection !== null && !this._connections.includes(this._connection)) {
      this._connection = null;
    }
    this._changed.emit();
  }

  private _finish(): void {
    if (!this._done) {
      this._done = true;
      this._finished.emit();
    }
  }

  private _set(step: FixStep): void {
    this._step = step;
    this._changed.emit();
  }

  /** Words for the state, read by screen readers as the dialog moves on. */
  status(): string {
    const trans = this._trans;
    switch (this._step.kind) {
      case 'previewing':
        return trans.__('Building the payload…');
      case 'preview-failed':
        return trans.__('The payload could not be built.');
      case 'preview':
        return trans.__('Nothing has been sent yet. Review the payload below.');
      case 'sending':
        return trans.__('Sent; waiting for the proposal…');
      case 'proposal':
      case 'confirming':
        return this._step.proposal.outcome === 'fixed'
          ? trans.__('A fix is proposed. Nothing has changed yet.')
          : trans.__('No fix was proposed.');
      case 'applying':
        return trans.__('Applying the fix…');
      case 'applied':
        return this._step.message;
      case 'rejected':
        return trans.__('The fix was rejected; nothing changed.');
    }
  }

  private _changed = new Signal<this, void>(this);
  private _connection: string | null = null;
  private _connections: string[] = [];
  private _done = false;
  private _finished = new Signal<this, void>(this);
  private _step: FixStep = { kind: 'previewing' };
}
