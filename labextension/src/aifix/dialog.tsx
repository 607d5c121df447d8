/**
 * The Fix with AI dialog: JupyterLab's modal `Dialog`, whose body follows one `FixSession`.
 *
 * The steps bring their own buttons (Send, Accept, Reject, Close); the dialog's footer has
 * none, so no footer button is the default and Enter in the password field submits the step's
 * form instead of closing the dialog. Escape and the title's close button still close it.
 */
import { Dialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import { FixSession, IFixTarget } from './session';
import { FixDialogView } from './views';

/**
 * Open the dialog for `target` and start with the preview; resolves when it is closed.
 * `showVault` shows the sidebar's vault card, offered when the vault is locked.
 */
export async function openFixDialog(
  target: IFixTarget,
  trans: TranslationBundle,
  showVault?: () => void
): Promise<void> {
  const session = new FixSession(target, trans);
  // The dialog is modal: it closes before the vault card can be used.
  const onUnlock = showVault
    ? () => {
        session.close();
        showVault();
      }
    : undefined;
  const body = ReactWidget.create(
    <FixDialogView session={session} trans={trans} onUnlock={onUnlock} />
  );
  const dialog = new Dialog({
    title: trans.__('Fix with AI: %1', target.title),
    body,
    buttons: [],
    hasClose: true
  });
  dialog.addClass('wd-aifix-dialog');
  session.finished.connect(() => dialog.reject());
  void session.start();
  try {
    await dialog.launch();
  } finally {
    session.dispose();
    dialog.dispose();
  }
}
