/**
 * The notebook bridge: the comm target `watchdog-lab` on the kernel of every open notebook, so
 * that the panel a kernel shows (`wd.panel()`) can have its notebook saved before a promote and
 * its failing cell replaced by an applied AI fix (see `handler.ts` for what is allowed).
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import type { Kernel } from '@jupyterlab/services';
import { ITranslator } from '@jupyterlab/translation';

import { lastErrorOf } from '../aifix/targets';
import { loadTranslation } from '../translation';
import {
  BRIDGE_TARGET,
  handleBridgeMessage,
  IBridgeCell,
  IBridgeMessages,
  IBridgeNotebook
} from './handler';

export const BRIDGE_PLUGIN_ID = 'watchdog-lab:notebook-bridge';

/** The open notebook behind a panel, as the handler sees it. */
export function notebookOf(panel: NotebookPanel): IBridgeNotebook {
  return {
    save: () => panel.context.save(),
    *cells(): Iterable<IBridgeCell> {
      const cells = panel.content.model?.cells;
      if (!cells) {
        return;
      }
      for (let index = 0; index < cells.length; index++) {
        const cell = cells.get(index);
        yield {
          id: cell.id,
          type: cell.type,
          failed: lastErrorOf(cell) !== null,
          sharedModel: cell.sharedModel
        };
      }
    }
  };
}

/** Answer the comms a kernel opens to {@link BRIDGE_TARGET} for `panel`'s notebook. */
export function registerBridge(
  kernel: Kernel.IKernelConnection,
  panel: NotebookPanel,
  messages: IBridgeMessages
): void {
  kernel.registerCommTarget(BRIDGE_TARGET, comm => {
    comm.onMsg = async msg => {
      const reply = await handleBridgeMessage(msg.content.data, notebookOf(panel), messages);
      if (reply && !comm.isDisposed) {
        comm.send({ ...reply });
      }
    };
  });
}

export const bridgePlugin: JupyterFrontEndPlugin<void> = {
  id: BRIDGE_PLUGIN_ID,
  description: 'Lets the WatchDog Lab notebook panel save its notebook and apply an AI fix.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ITranslator],
  activate: (
    _app: JupyterFrontEnd,
    tracker: INotebookTracker,
    translator: ITranslator | null
  ): void => {
    const trans = loadTranslation(translator);
    const messages: IBridgeMessages = {
      badRequest: trans.__('The request from the kernel was not understood.'),
      noCell: trans.__('The failing cell is no longer in this notebook.'),
      notFailed: trans.__('Only a code cell that failed can be replaced by a fix.'),
      changed: trans.__(
        'The cell was edited since it failed; the fix was not applied, so your edit is kept.'
      ),
      saveFailed: trans.__('The notebook could not be saved')
    };
    const watch = (panel: NotebookPanel): void => {
      const register = (): void => {
        const kernel = panel.sessionContext.session?.kernel;
        if (kernel) {
          registerBridge(kernel, panel, messages);
        }
      };
      panel.sessionContext.kernelChanged.connect(register);
      register();
    };
    tracker.forEach(watch);
    tracker.widgetAdded.connect((_, panel) => watch(panel));
  }
};
