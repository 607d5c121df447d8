/**
 * An executed bot notebook, read-only, in a JupyterLab tab.
 *
 * The run comes from `GET bots/{ref}/runs/{name}`: outputs redacted by the runner when it was
 * saved and again by the server when sent. It is not a document: there is no file to edit, no
 * kernel and no model to save, so nothing of it can be changed or run from here. Outputs were
 * made by the bot's code, which is untrusted: each is rendered through JupyterLab's renderers as
 * untrusted (HTML sanitised, no script, no JavaScript output).
 */
import { IRenderMimeRegistry, MimeModel } from '@jupyterlab/rendermime';
import { TranslationBundle } from '@jupyterlab/translation';
import { Panel, Widget } from '@lumino/widgets';

import { IRunCell, runCells, runLabel } from './runs';

export class RunViewer extends Panel {
  constructor(options: {
    bot: string;
    run: string;
    notebook: unknown;
    rendermime: IRenderMimeRegistry;
    trans: TranslationBundle;
  }) {
    super();
    const { bot, run, notebook, rendermime, trans } = options;
    this.addClass('wd-runs-viewer');
    this.id = `wd-run-${bot}-${run}`.replace(/[^A-Za-z0-9_-]/g, '-');
    const label = runLabel(run);
    this.title.label = label
      ? trans.__('%1 run %2', bot, label.run)
      : trans.__('%1 run %2', bot, run);
    this.title.caption = trans.__('%1 — %2 (read-only, redacted)', bot, run);
    this.title.closable = true;
    this.node.setAttribute('data-testid', 'wd-runs-viewer');
    this.node.tabIndex = 0;

    const header = new Widget();
    header.addClass('wd-runs-viewerHeader');
    header.node.textContent = label
      ? trans.__(
          'Run %1 of "%2", %3 — read-only; secrets redacted.',
          label.run,
          bot,
          label.time.toLocaleString()
        )
      : trans.__('Run %1 of "%2" — read-only; secrets redacted.', run, bot);
    this.addWidget(header);

    const cells = runCells(notebook);
    if (cells === null) {
      const problem = new Widget();
      problem.addClass('wd-runs-error');
      problem.node.setAttribute('role', 'alert');
      problem.node.textContent = trans.__('This run is not a notebook this version can show.');
      this.addWidget(problem);
      return;
    }
    cells.forEach(cell => this.addWidget(this._cell(cell, rendermime)));
  }

  private _cell(cell: IRunCell, rendermime: IRenderMimeRegistry): Widget {
    const box = new Panel();
    box.addClass('wd-runs-cell');
    box.node.setAttribute('data-testid', 'wd-runs-cell');
    if (cell.cellType === 'markdown') {
      box.addWidget(render(rendermime, { 'text/markdown': cell.source }));
      return box;
    }
    const input = new Widget({ node: document.createElement('div') });
    input.addClass('wd-runs-input');
    const prompt = document.createElement('span');
    prompt.className = 'wd-runs-prompt';
    prompt.textContent = cell.cellType === 'code' ? `[${cell.executionCount ?? ' '}]:` : '';
    const source = document.createElement('pre');
    source.className = 'wd-runs-source';
    source.textContent = cell.source;
    input.node.append(prompt, source);
    box.addWidget(input);
    for (const output of cell.outputs) {
      const shown = render(rendermime, output.data);
      shown.addClass('wd-runs-output');
      box.addWidget(shown);
    }
    return box;
  }
}

/** One mime bundle through JupyterLab's renderers, as untrusted output. */
function render(rendermime: IRenderMimeRegistry, data: Record<string, unknown>): Widget {
  const mimeType = rendermime.preferredMimeType(data as never, 'ensure');
  if (!mimeType) {
    const fallback = new Widget();
    fallback.node.textContent = '';
    return fallback;
  }
  const renderer = rendermime.createRenderer(mimeType);
  void renderer.renderModel(new MimeModel({ data: data as never, trusted: false }));
  return renderer;
}
