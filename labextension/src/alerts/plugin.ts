/**
 * Crash alerts: a JupyterLab notification when a bot crashes or ends in a crash loop, naming
 * the bot and why, with "Show logs" and (when the command exists) "Fix with AI".
 *
 * The bot list is asked for at the bots refresh interval, whether or not the sidebar is open
 * (a crash matters most when nobody is looking at the card), but not while the page is hidden:
 * the first answer after it is visible again tells what happened meanwhile. The same answer
 * drives the "waiting for unlock" notification (`notifications/plugin.ts`), which is always on:
 * the poll runs whether or not crash alerts are.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import { IPoll, Poll } from '@lumino/polling';

import { WatchdogApiClient } from '../api';
import { parseBot } from '../components/bots/bots';
import { FIX_BOT, OPEN_BOT_LOGS } from '../logs/commands';
import { DEFAULT_SETTINGS, readSettings, SETTINGS_PLUGIN_ID } from '../settings';
import { WaitingNotice } from '../notifications/plugin';
import { IWatchdogLab } from '../tokens';
import { loadTranslation } from '../translation';
import { CRASH_LOOP_PREFIX, CrashDetector, ICrashAlert, IWatchedBot } from './detector';

const MS_PER_SECOND = 1000;
/** While the server does not answer, the wait grows up to this many intervals. */
const BACKOFF_INTERVALS = 12;
/** JupyterLab cuts a notification's message at 140 characters; the reason is shortened to fit
 * so the bot's name is never what is cut. */
const MAX_MESSAGE = 140;

/** The bots as the detector needs them; a bot this version cannot read is left out. */
export async function watchedBots(api: WatchdogApiClient): Promise<IWatchedBot[]> {
  const body = await api.request<unknown>('bots', { method: 'GET' });
  const items =
    typeof body === 'object' && body !== null ? (body as { bots?: unknown }).bots : null;
  if (!Array.isArray(items)) {
    return [];
  }
  const watched: IWatchedBot[] = [];
  for (const item of items) {
    const bot = parseBot(item);
    if (bot !== null) {
      const status = (item as { status: { started_at?: unknown } }).status;
      const startedAt = typeof status.started_at === 'number' ? status.started_at : null;
      watched.push({ bot, startedAt });
    }
  }
  return watched;
}

/**
 * The words of an alert, at most `MAX_MESSAGE` characters. A crash loop is told by the error
 * that kept failing (the runner's own reason only counts the failures); a single crash by the
 * runner's reason (a refused sandbox, a killed runner), the last error only without one.
 */
export function crashMessage(alert: ICrashAlert, trans: TranslationBundle): string {
  const head = alert.crashLoop
    ? trans.__('Bot "%1" is in a crash loop and was stopped', alert.name)
    : trans.__('Bot "%1" crashed', alert.name);
  const detail = alert.crashLoop
    ? (alert.error ?? alert.reason?.slice(CRASH_LOOP_PREFIX.length).trim() ?? null)
    : (alert.reason ?? alert.error);
  if (!detail) {
    return `${head}.`;
  }
  const text = trans.__('%1: %2', head, detail);
  return text.length <= MAX_MESSAGE ? text : `${text.slice(0, MAX_MESSAGE - 1)}…`;
}

/** The buttons of an alert: the log always, AI Fix when that command is there. */
export function crashActions(
  alert: ICrashAlert,
  commands: JupyterFrontEnd['commands'],
  trans: TranslationBundle
): Notification.IAction[] {
  const actions: Notification.IAction[] = [
    {
      label: trans.__('Show logs'),
      caption: trans.__('Open the live log of %1', alert.name),
      displayType: 'accent',
      callback: () => void commands.execute(OPEN_BOT_LOGS, { bot: alert.name })
    }
  ];
  if (commands.hasCommand(FIX_BOT)) {
    actions.push({
      label: trans.__('Fix with AI'),
      caption: trans.__('Propose a fix for the failing cell of %1', alert.name),
      callback: () => void commands.execute(FIX_BOT, { bot: alert.name })
    });
  }
  return actions;
}

export const alertsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'watchdog-lab:crash-alerts',
  description: 'Notifications when a bot crashes or ends in a crash loop, or waits for unlock.',
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
    const detector = new CrashDetector();
    const waiting = new WaitingNotice(app.commands, trans);
    let crashAlerts = DEFAULT_SETTINGS.crashNotifications;
    const frequency = (seconds: number): IPoll.Frequency => ({
      interval: seconds * MS_PER_SECOND,
      backoff: true,
      max: seconds * MS_PER_SECOND * BACKOFF_INTERVALS
    });
    const poll = new Poll({
      name: 'watchdog-lab:crash-alerts',
      frequency: frequency(DEFAULT_SETTINGS.botsRefreshInterval),
      standby: 'when-hidden',
      factory: async () => {
        const watched = await watchedBots(watchdog.api);
        waiting.update(watched.map(item => item.bot));
        if (!crashAlerts) {
          return;
        }
        for (const alert of detector.update(watched)) {
          Notification.error(crashMessage(alert, trans), {
            autoClose: false,
            actions: crashActions(alert, app.commands, trans)
          });
        }
      }
    });

    const configure = (enabled: boolean, seconds: number): void => {
      poll.frequency = frequency(seconds);
      if (!enabled) {
        detector.reset(); // switched on again later, it starts from a new baseline
      }
      crashAlerts = enabled;
    };

    if (!settingRegistry) {
      configure(DEFAULT_SETTINGS.crashNotifications, DEFAULT_SETTINGS.botsRefreshInterval);
      return;
    }
    void settingRegistry
      .load(SETTINGS_PLUGIN_ID)
      .then(settings => {
        const apply = (): void => {
          const values = readSettings(settings.composite);
          configure(values.crashNotifications, values.botsRefreshInterval);
        };
        apply();
        settings.changed.connect(apply);
      })
      .catch(() =>
        configure(DEFAULT_SETTINGS.crashNotifications, DEFAULT_SETTINGS.botsRefreshInterval)
      );
  }
};
