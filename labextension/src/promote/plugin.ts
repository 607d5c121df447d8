/**
 * Promote from the notebook, and a bot's runs and notebook back in JupyterLab.
 *
 * - `watchdog-lab:promote` (palette, and a "Promote to bot" button on every notebook's
 *   toolbar): saves the notebook, then opens the promote dialog on the saved file.
 * - `watchdog-lab:open-bot-run`: one executed notebook of a bot, read-only in a tab.
 * - `watchdog-lab:open-bot-notebook`: a copy of the bot's current notebook version, saved as a
 *   new file at the root of the file browser and opened on the bot's kernel (confined like the
 *   bot). The bot's sealed version is never opened for editing.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Contents, ServerConnection } from '@jupyterlab/services';
import { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import { ToolbarButton } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { RunViewer } from '../components/bots/runViewer';
import { watchdogIcon } from '../icons';
import { IWatchdogLab } from '../tokens';
import { loadTranslation } from '../translation';
import { OPEN_BOT_NOTEBOOK, OPEN_BOT_RUN, PROMOTE } from './commands';
import { PromoteDialog } from './dialog';

/** Where the button sits among the notebook toolbar's items (after run/kernel controls). */
const TOOLBAR_RANK = 10;
/** How many `name (n).ipynb` variants are tried before giving up on a free file name. */
const MAX_COPY_NAMES = 100;

export const promotePlugin: JupyterFrontEndPlugin<void> = {
  id: 'watchdog-lab:promote',
  description: 'Promote a notebook to a bot from its toolbar; open a bot’s runs and notebook.',
  autoStart: true,
  requires: [IWatchdogLab],
  optional: [INotebookTracker, ICommandPalette, ITranslator, IRenderMimeRegistry],
  activate: (
    app: JupyterFrontEnd,
    watchdog: IWatchdogLab,
    notebooks: INotebookTracker | null,
    palette: ICommandPalette | null,
    translator: ITranslator | null,
    rendermime: IRenderMimeRegistry | null
  ): void => {
    const trans = loadTranslation(translator);
    const { api } = watchdog;
    const contents = app.serviceManager.contents;

    const promote = async (panel: NotebookPanel): Promise<void> => {
      // The promote reads the file on the server: what is on screen must be what it reads.
      await panel.context.ready;
      await panel.context.save();
      const notebook = contents.localPath(panel.context.path);
      await new PromoteDialog({ api, notebook, trans }).open();
    };

    app.commands.addCommand(PROMOTE, {
      label: trans.__('Promote Notebook to Bot…'),
      caption: trans.__(
        'Save this notebook, check its packages against the install policy, and make it a bot'
      ),
      icon: watchdogIcon,
      isEnabled: () => (notebooks?.currentWidget ?? null) !== null,
      execute: () => {
        const panel = notebooks?.currentWidget;
        return panel ? promote(panel) : undefined;
      }
    });
    palette?.addItem({ command: PROMOTE, category: trans.__('WatchDog Lab') });

    app.docRegistry.addWidgetExtension('Notebook', {
      createNew: (widget: Widget) => {
        const panel = widget as NotebookPanel;
        const button = new ToolbarButton({
          className: 'wd-promote-toolbarButton',
          icon: watchdogIcon,
          label: trans.__('Promote to bot'),
          tooltip: trans.__('Save this notebook and promote it to a bot'),
          onClick: () => void promote(panel)
        });
        panel.toolbar.insertItem(TOOLBAR_RANK, 'watchdogLabPromote', button);
        return button;
      }
    });

    if (rendermime) {
      app.commands.addCommand(OPEN_BOT_RUN, {
        label: trans.__('Open a Bot Run (read-only)'),
        describedBy: {
          args: {
            type: 'object',
            properties: { bot: { type: 'string' }, run: { type: 'string' } },
            required: ['bot', 'run']
          }
        },
        execute: async args => {
          const bot = typeof args.bot === 'string' ? args.bot : '';
          const run = typeof args.run === 'string' ? args.run : '';
          if (!bot || !run) {
            return;
          }
          const notebook = await api.getRun(bot, run);
          const viewer = new RunViewer({ bot, run, notebook, rendermime, trans });
          const open = Array.from(app.shell.widgets('main')).find(w => w.id === viewer.id);
          if (open) {
            viewer.dispose();
            app.shell.activateById(open.id);
            return;
          }
          const widget = new MainAreaWidget({ content: viewer });
          widget.id = viewer.id;
          widget.title.label = viewer.title.label;
          widget.title.caption = viewer.title.caption;
          widget.title.icon = watchdogIcon;
          app.shell.add(widget, 'main');
          app.shell.activateById(widget.id);
        }
      });
    }

    app.commands.addCommand(OPEN_BOT_NOTEBOOK, {
      label: trans.__("Open a Bot's Notebook in the Bot's Environment"),
      describedBy: {
        args: {
          type: 'object',
          properties: { bot: { type: 'string' } },
          required: ['bot']
        }
      },
      execute: async args => {
        const bot = typeof args.bot === 'string' ? args.bot : '';
        if (!bot) {
          return;
        }
        const copy = await api.botNotebook(bot);
        const path = await freeName(contents, copyName(copy.bot, copy.version, trans));
        await contents.save(path, { type: 'notebook', format: 'json', content: copy.notebook });
        // The bot's kernelspec appeared with its promote: the page's list may not have it yet.
        await app.serviceManager.kernelspecs.refreshSpecs();
        await app.commands.execute('docmanager:open', {
          path,
          factory: 'Notebook',
          kernel: { name: copy.kernelName }
        });
      }
    });
  }
};

/** `<bot> v<version> (copy)`, without characters a file name should not carry. */
export function copyName(bot: string, version: number, trans: TranslationBundle): string {
  const safe = bot.replace(/[/\\:*?"<>|]/g, '-');
  return trans.__('%1 v%2 (copy)', safe, version);
}

/** The first `<stem>.ipynb`, `<stem> 2.ipynb`, ... that does not exist yet. */
async function freeName(contents: Contents.IManager, stem: string): Promise<string> {
  for (let n = 1; n <= MAX_COPY_NAMES; n++) {
    const path = n === 1 ? `${stem}.ipynb` : `${stem} ${n}.ipynb`;
    try {
      await contents.get(path, { content: false });
    } catch (error) {
      if (error instanceof ServerConnection.ResponseError && error.response.status === 404) {
        return path;
      }
      throw error;
    }
  }
  throw new Error(`No free file name for "${stem}.ipynb" in the root folder.`);
}
