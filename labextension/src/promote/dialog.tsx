import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import { WatchdogApiClient } from '../api';
import { announceBotsChanged } from './events';
import { PromoteView } from './PromoteView';

/**
 * The promote dialog as a modal over JupyterLab, styled as JupyterLab's own dialogs.
 *
 * Not `showDialog`: that one closes on Enter in any input and knows only buttons that end it,
 * while this dialog stays open through the promote's steps and shows its outcome. Escape and
 * the Close buttons end it; focus starts in it and goes back where it was.
 */
export class PromoteDialog extends ReactWidget {
  constructor(
    private readonly _options: {
      api: WatchdogApiClient;
      notebook: string;
      trans: TranslationBundle;
    }
  ) {
    super();
    this.addClass('jp-Dialog');
    this.addClass('wd-promote-dialog');
    this.node.setAttribute('role', 'dialog');
    this.node.setAttribute('aria-modal', 'true');
    this.node.setAttribute('aria-label', _options.trans.__('Promote to bot'));
    this.node.tabIndex = -1;
  }

  /** Shows the dialog; resolves when it is closed. */
  open(): Promise<void> {
    this._returnFocus = document.activeElement as HTMLElement | null;
    Widget.attach(this, document.body);
    return new Promise(resolve => {
      this._resolve = resolve;
    });
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    super.dispose();
    this._returnFocus?.focus();
    this._resolve?.();
  }

  handleEvent(event: Event): void {
    if (event.type === 'keydown' && (event as KeyboardEvent).key === 'Escape') {
      event.stopPropagation();
      this.dispose();
    }
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this.node.addEventListener('keydown', this, true);
    this.node.focus();
  }

  protected onBeforeDetach(msg: Message): void {
    this.node.removeEventListener('keydown', this, true);
    super.onBeforeDetach(msg);
  }

  protected render(): JSX.Element {
    const { api, notebook, trans } = this._options;
    return (
      <div className="jp-Dialog-content wd-promote-content">
        <div className="jp-Dialog-header">
          <h2 className="wd-promote-title">{trans.__('Promote to bot')}</h2>
        </div>
        <div className="jp-Dialog-body">
          <PromoteView
            api={api}
            notebook={notebook}
            trans={trans}
            onClose={() => this.dispose()}
            onPromoted={name => announceBotsChanged(name)}
          />
        </div>
      </div>
    );
  }

  private _resolve: (() => void) | null = null;
  private _returnFocus: HTMLElement | null = null;
}
