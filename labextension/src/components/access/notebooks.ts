/**
 * The current notebook for the access list, from JupyterLab's notebook tracker.
 *
 * The tracker keeps the last notebook the user worked in as current while the focus is in the
 * sidebar, which is what the access list is about. Its kernel is read from the notebook's
 * session; a change of kernel, a restart (the server drops a restarted kernel's grants) and a
 * rename all tell the access model to ask again.
 */
import { ISessionContext } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ISignal, Signal } from '@lumino/signaling';

import { INotebookRef, INotebookSource } from './model';

export class CurrentNotebook implements INotebookSource {
  constructor(tracker: INotebookTracker) {
    this._tracker = tracker;
    tracker.currentChanged.connect(this._follow, this);
    this._follow();
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get current(): INotebookRef | null {
    const panel = this._panel;
    if (panel === null || panel.isDisposed) {
      return null;
    }
    return {
      path: panel.context.path,
      kernelId: panel.sessionContext.session?.kernel?.id ?? null
    };
  }

  dispose(): void {
    this._unfollow();
    this._tracker.currentChanged.disconnect(this._follow, this);
    Signal.clearData(this);
  }

  private _follow(): void {
    this._unfollow();
    const panel = this._tracker.currentWidget;
    this._panel = panel;
    if (panel !== null) {
      const session = panel.sessionContext;
      session.kernelChanged.connect(this._emit, this);
      session.sessionChanged.connect(this._emit, this);
      session.statusChanged.connect(this._onStatus, this);
      panel.context.pathChanged.connect(this._emit, this);
      panel.disposed.connect(this._follow, this);
    }
    this._changed.emit();
  }

  private _unfollow(): void {
    const panel = this._panel;
    if (panel === null) {
      return;
    }
    const session = panel.sessionContext;
    session.kernelChanged.disconnect(this._emit, this);
    session.sessionChanged.disconnect(this._emit, this);
    session.statusChanged.disconnect(this._onStatus, this);
    panel.context.pathChanged.disconnect(this._emit, this);
    panel.disposed.disconnect(this._follow, this);
    this._panel = null;
  }

  /** A restart keeps the kernel id but loses its grants: ask again once it is back. */
  private _onStatus(_: ISessionContext, status: string): void {
    if (RESTART_STATUSES.has(status)) {
      this._restarting = true;
      this._emit();
    } else if (this._restarting && status === 'idle') {
      this._restarting = false;
      this._emit();
    }
  }

  private _emit(): void {
    this._changed.emit();
  }

  private _changed = new Signal<this, void>(this);
  private _panel: NotebookPanel | null = null;
  private _restarting = false;
  private _tracker: INotebookTracker;
}

const RESTART_STATUSES = new Set(['restarting', 'autorestarting', 'starting', 'dead']);
