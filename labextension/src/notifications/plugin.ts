/**
 * "Waiting for unlock" notifications: while any bot waits for the vault to be unlocked, one
 * JupyterLab notification names them, with an "Unlock the vault" button that opens the
 * WatchDog Lab sidebar on its unlock form. It is updated as bots start waiting or start, and
 * withdrawn when none waits any more.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';

import { IBotSummary } from '../components/bots/bots';
import { waitingMessage, WaitingDetector } from './waiting';

/** The command that shows the WatchDog Lab sidebar (`index.ts`). */
export const OPEN_SIDEBAR = 'watchdog-lab:open';
/** The unlock form's password field (`VaultUnlockForm.tsx`). */
export const UNLOCK_PASSWORD_SELECTOR = '[data-testid="wd-vault-unlock-password"]';

/**
 * Show the sidebar and put the cursor in the unlock form's password field (once React has
 * drawn it: the sidebar may have been closed until now).
 */
export async function openUnlock(
  commands: JupyterFrontEnd['commands'],
  root: ParentNode = document
): Promise<void> {
  await commands.execute(OPEN_SIDEBAR);
  await new Promise<void>(resolve => requestAnimationFrame(() => resolve()));
  const field = root.querySelector<HTMLInputElement>(UNLOCK_PASSWORD_SELECTOR);
  field?.focus();
}

/** The notification's one button. */
export function waitingActions(
  commands: JupyterFrontEnd['commands'],
  trans: TranslationBundle
): Notification.IAction[] {
  return [
    {
      label: trans.__('Unlock the vault'),
      caption: trans.__('Open the WatchDog Lab sidebar to type the vault password'),
      displayType: 'accent',
      callback: () => void openUnlock(commands)
    }
  ];
}

/**
 * The one "waiting for unlock" notification: shown, updated or withdrawn from each answer of
 * the bots poll (the crash alerts' poll, `alerts/plugin.ts`: one request serves both).
 */
export class WaitingNotice {
  constructor(
    private readonly commands: JupyterFrontEnd['commands'],
    private readonly trans: TranslationBundle
  ) {}

  update(bots: IBotSummary[]): void {
    const change = this.detector.update(bots);
    if (change.kind === 'hide' && this.shown !== null) {
      Notification.dismiss(this.shown);
      this.shown = null;
    } else if (change.kind === 'show') {
      const message = waitingMessage(change.names, this.trans);
      const options = {
        autoClose: false as const,
        actions: waitingActions(this.commands, this.trans)
      };
      if (this.shown !== null && Notification.manager.has(this.shown)) {
        Notification.update({ id: this.shown, message, type: 'warning', ...options });
      } else {
        this.shown = Notification.warning(message, options);
      }
    }
  }

  private readonly detector = new WaitingDetector();
  private shown: string | null = null;
}
