/**
 * The live log views: the `watchdog-lab:open-bot-logs` command opens one per bot in the main
 * area (or brings the open one forward), and the layout restorer reopens them on reload.
 */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { MainAreaWidget, WidgetTracker } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator } from '@jupyterlab/translation';

import { watchdogIcon } from '../icons';
import { DEFAULT_SETTINGS, readSettings, SETTINGS_PLUGIN_ID } from '../settings';
import { IWatchdogLab } from '../tokens';
import { loadTranslation } from '../translation';
import { OPEN_BOT_LOGS } from './commands';
import { BotLogPanel } from './LogPanel';
import { BotLogModel } from './model';

/** Namespace of the tracker, and so of the restorer's entries. */
const TRACKER_NAMESPACE = 'watchdog-lab-logs';

/** The DOM id of a bot's log view: one per bot. */
export function logViewId(bot: string): string {
  return `${TRACKER_NAMESPACE}-${encodeURIComponent(bot).replace(/%/g, '_')}`;
}

export const logsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'watchdog-lab:logs',
  description: 'Live bot logs in the main area, opened from the Bots card or by command.',
  autoStart: true,
  requires: [IWatchdogLab],
  optional: [ILayoutRestorer, ITranslator, ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    watchdog: IWatchdogLab,
    restorer: ILayoutRestorer | null,
    translator: ITranslator | null,
    settingRegistry: ISettingRegistry | null
  ): void => {
    const trans = loadTranslation(translator);
    const tracker = new WidgetTracker<MainAreaWidget<BotLogPanel>>({
      namespace: TRACKER_NAMESPACE
    });
    let capacity = DEFAULT_SETTINGS.logBufferLines;

    if (settingRegistry) {
      // The core plugin reports a settings failure; here the default size simply stays.
      void settingRegistry
        .load(SETTINGS_PLUGIN_ID)
        .then(settings => {
          const apply = (): void => {
            capacity = readSettings(settings.composite).logBufferLines;
            tracker.forEach(widget => {
              widget.content.model.capacity = capacity;
            });
          };
          apply();
          settings.changed.connect(apply);
        })
        .catch(() => undefined);
    }

    app.commands.addCommand(OPEN_BOT_LOGS, {
      label: args =>
        typeof args.bot === 'string' && args.bot
          ? trans.__('Show the Log of %1', args.bot)
          : trans.__('Show a Bot Log'),
      caption: trans.__("Open a bot's live log in the main area"),
      describedBy: {
        args: {
          type: 'object',
          properties: { bot: { type: 'string', description: trans.__('The bot name') } },
          required: ['bot']
        }
      },
      execute: args => {
        const bot = typeof args.bot === 'string' ? args.bot : '';
        if (!bot) {
          return null;
        }
        const open = tracker.find(widget => widget.content.model.bot === bot);
        if (open) {
          app.shell.activateById(open.id);
          return open;
        }
        const model = new BotLogModel({ api: watchdog.api, bot, trans, capacity });
        const content = new BotLogPanel(model, trans);
        const widget = new MainAreaWidget({ content });
        widget.id = logViewId(bot);
        widget.title.label = trans.__('%1 log', bot);
        widget.title.caption = trans.__('Live log of the bot %1', bot);
        widget.title.icon = watchdogIcon;
        widget.title.closable = true;
        widget.toolbar.hide(); // the view's own controls sit in its own toolbar row
        void tracker.add(widget);
        app.shell.add(widget, 'main');
        app.shell.activateById(widget.id);
        return widget;
      }
    });

    if (restorer) {
      void restorer.restore(tracker, {
        command: OPEN_BOT_LOGS,
        args: widget => ({ bot: widget.content.model.bot }),
        name: widget => widget.content.model.bot
      });
    }
  }
};
