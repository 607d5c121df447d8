/**
 * The Fix with AI plugin: a button on every error output of a notebook, the commands
 * `watchdog-lab:fix-cell` (the active cell's error) and `watchdog-lab:fix-bot` (a bot's failed
 * run, `{bot: name}`), and the dialog they open.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, showErrorMessage } from '@jupyterlab/apputils';
import type { ICellModel } from '@jupyterlab/cells';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ITranslator } from '@jupyterlab/translation';

import { IWatchdogLab } from '../tokens';
import { loadTranslation } from '../translation';
import { AIFixClient } from './client';
import { AIFixCommandIDs } from './commands';
import { openFixDialog } from './dialog';
import { ERROR_RENDERER_RANK, errorRendererFactory, STDERR_MIME_TYPE } from './errorOutput';
import { BotFixTarget, CellFixTarget, IErrorOutput, lastErrorOf } from './targets';

export { AIFixCommandIDs } from './commands';

export const AIFIX_PLUGIN_ID = 'watchdog-lab:ai-fix';

/** The sidebar plugin's command that shows the WatchDog Lab sidebar (its vault card). */
const OPEN_SIDEBAR = 'watchdog-lab:open';

export const aifixPlugin: JupyterFrontEndPlugin<void> = {
  id: AIFIX_PLUGIN_ID,
  description: 'Fix with AI: a failing notebook cell or bot run, previewed, sent and reviewed.',
  autoStart: true,
  requires: [IWatchdogLab, INotebookTracker, IRenderMimeRegistry],
  optional: [ICommandPalette, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    watchdog: IWatchdogLab,
    tracker: INotebookTracker,
    rendermime: IRenderMimeRegistry,
    palette: ICommandPalette | null,
    translator: ITranslator | null
  ): void => {
    const trans = loadTranslation(translator);
    const client = new AIFixClient(watchdog.api, trans);

    /** One dialog at a time: a second click while one is open is ignored. */
    let open = false;
    const launch = async (target: CellFixTarget | BotFixTarget): Promise<void> => {
      if (open) {
        return;
      }
      open = true;
      try {
        await openFixDialog(target, trans, () => {
          void app.commands.execute(OPEN_SIDEBAR);
        });
      } finally {
        open = false;
      }
    };

    const fixCell = (panel: NotebookPanel, cell: ICellModel, error: IErrorOutput) =>
      launch(new CellFixTarget(client, panel, cell, error, trans));

    rendermime.addFactory(
      errorRendererFactory({
        trans,
        createTextRenderer: () => rendermime.createRenderer(STDERR_MIME_TYPE),
        inNotebook: node => cellAt(tracker, node) !== null,
        fix: (node, error) => {
          const found = cellAt(tracker, node);
          if (found === null) {
            void showErrorMessage(
              trans.__('Fix with AI'),
              trans.__('This error is not in a cell of an open notebook.')
            );
            return;
          }
          void fixCell(found.panel, found.cell, error);
        }
      }),
      ERROR_RENDERER_RANK
    );

    const activeError = (): IErrorOutput | null => {
      const cell = tracker.activeCell;
      return cell ? lastErrorOf(cell.model) : null;
    };

    app.commands.addCommand(AIFixCommandIDs.fixCell, {
      label: trans.__('Fix Cell Error with AI'),
      caption: trans.__(
        "Preview, send and review a fix of the active cell's error; nothing is sent before you confirm"
      ),
      isEnabled: () => activeError() !== null,
      execute: () => {
        const panel = tracker.currentWidget;
        const cell = tracker.activeCell;
        const error = activeError();
        if (panel === null || cell === null || error === null) {
          return showErrorMessage(
            trans.__('Fix with AI'),
            trans.__('The active cell has no error to fix. Run it first.')
          );
        }
        return fixCell(panel, cell.model, error);
      }
    });
    palette?.addItem({ command: AIFixCommandIDs.fixCell, category: trans.__('WatchDog Lab') });

    app.commands.addCommand(AIFixCommandIDs.fixBot, {
      label: args =>
        typeof args.bot === 'string'
          ? trans.__('Fix "%1" with AI', args.bot)
          : trans.__('Fix Bot with AI'),
      caption: trans.__("Preview, send and review a fix of a bot's failed run"),
      describedBy: {
        args: {
          type: 'object',
          properties: { bot: { type: 'string', description: trans.__('The bot name') } },
          required: ['bot']
        }
      },
      isEnabled: args => typeof args.bot === 'string' && args.bot.length > 0,
      execute: args => {
        if (typeof args.bot !== 'string' || !args.bot) {
          return;
        }
        return launch(new BotFixTarget(client, args.bot, trans));
      }
    });
  }
};

/** The notebook and code cell whose DOM holds `node`, or `null`. */
function cellAt(
  tracker: INotebookTracker,
  node: HTMLElement
): { panel: NotebookPanel; cell: ICellModel } | null {
  const panel = tracker.find(candidate => candidate.content.node.contains(node));
  if (!panel) {
    return null;
  }
  const cell = panel.content.widgets.find(widget => widget.node.contains(node));
  return cell && cell.model.type === 'code' ? { panel, cell: cell.model } : null;
}
