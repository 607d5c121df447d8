/**
 * "Waiting for unlock" notifications: while any bot waits for the vault to be unlocked, one
 * JupyterLab notification names them, with an "Unlock the vault" button that opens the
 * WatchDog Lab sidebar on its unlock form. It is updated as bots start waiting or start, and
 * withdrawn when none waits any more.
 *
 * The bot list is asked for at the bots refresh interval, whether or not the sidebar is open,
 * but not while the page is hidden.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import { IPoll, Poll } from '@lumino/polling';

import { watchedBots } from '../alerts/plugin';
import { DEFAULT_SETTINGS, readSettings, SETTINGS_PLUGIN_ID } from '../settings';
import { IWatchdogLab } from '../tokens';
import { loadTranslation } from '../translation';
import { waitingMessage, WaitingDetector } from './waiting';

const MS_PER_SECOND = 1000;
/** While the server does not answer, the wait grows up to this many intervals. */
const BACKOFF_INTERVALS = 12;
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

export const waitingPlugin: JupyterFrontEndPlugin<void> = {
  id: 'watchdog-lab:waiting-notifications',
  description: 'A notification while bots wait for the vault to be unlocked.',
  autoStart: true,
  requires: [IWatchdogLab],
  optional: [ITranslator, ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    watchdog: IWatchdogLab,
    translator: ITranslator | null,
    settingRegistry: ISettingRegistry | null
  ): void => {
    const trans = loadTranslation(translator);
    const detector = new WaitingDetector();
    let shown: string | null = null;
    const frequency = (seconds: number): IPoll.Frequency => ({
      interval: seconds * MS_PER_SECOND,
      backoff: true,
      max: seconds * MS_PER_SECOND * BACKOFF_INTERVALS
    });
    const poll = new Poll({
      name: 'watchdog-lab:waiting-notifications',
      frequency: frequency(DEFAULT_SETTINGS.botsRefreshInterval),
      standby: 'when-hidden',
      factory: async () => {
        const bots = (await watchedBots(watchdog.api)).map(watched => watched.bot);
        const change = detector.update(bots);
        if (change.kind === 'hide' && shown !== null) {
          Notification.dismiss(shown);
          shown = null;
        } else if (change.kind === 'show') {
          const message = waitingMessage(change.names, trans);
          const options = {
            autoClose: false as const,
            actions: waitingActions(app.commands, trans)
          };
          if (shown !== null && Notification.manager.has(shown)) {
            Notification.update({ id: shown, message, type: 'warning', ...options });
          } else {
            shown = Notification.warning(message, options);
          }
        }
      }
    });
    void settingRegistry
      ?.load(SETTINGS_PLUGIN_ID)
      .then(settings => {
        const apply = (): void => {
          poll.frequency = frequency(readSettings(settings.composite).botsRefreshInterval);
        };
        apply();
        settings.changed.connect(apply);
      })
      .catch(() => undefined);
  }
};
