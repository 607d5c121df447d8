/**
 * A "Fix with AI" button under every error output of a notebook.
 *
 * JupyterLab gives an error output two mime types: `application/vnd.jupyter.error` (the error
 * itself) and `application/vnd.jupyter.stderr` (its traceback as text, which the stock text
 * renderer shows). This renderer takes the first: it asks the registry for the stderr renderer,
 * so the traceback looks as it always does, and adds the button below it. Outside a notebook (a
 * console, an output view) there is no cell to fix and the button stays hidden.
 */
import { IRenderMime } from '@jupyterlab/rendermime';
import { TranslationBundle } from '@jupyterlab/translation';
import { PanelLayout, Widget } from '@lumino/widgets';

import { IErrorOutput, parseErrorOutput } from './targets';

export const ERROR_MIME_TYPE = 'application/vnd.jupyter.error';
export const STDERR_MIME_TYPE = 'application/vnd.jupyter.stderr';

/**
 * Before JupyterLab's stderr renderer (rank 110; a tie would go to the first mime type by name,
 * stderr), which would otherwise take the error by its traceback. An error bundle carries no
 * other mime type, so no rich renderer competes.
 */
export const ERROR_RENDERER_RANK = 100;

/** What the renderer needs from the plugin. */
export interface IErrorFixHost {
  /** The renderer of the traceback text (the registry's own for stderr). */
  createTextRenderer(): IRenderMime.IRenderer;
  /** Whether `node` is inside a code cell of an open notebook. */
  inNotebook(node: HTMLElement): boolean;
  /** Open Fix with AI for the cell that holds `node`, on this error. */
  fix(node: HTMLElement, error: IErrorOutput): void;
  readonly trans: TranslationBundle;
}

/** The traceback as JupyterLab renders it, and the button. */
export class ErrorOutputRenderer extends Widget implements IRenderMime.IRenderer {
  constructor(
    private readonly _options: IRenderMime.IRendererOptions,
    private readonly _host: IErrorFixHost
  ) {
    super();
    this.addClass('wd-aifix-errorOutput');
    this.layout = new PanelLayout();
    const trans = _host.trans;
    this._button = document.createElement('button');
    this._button.type = 'button';
    this._button.className = 'jp-mod-styled wd-aifix-errorButton';
    this._button.textContent = trans.__('Fix with AI');
    this._button.title = trans.__(
      'Preview what would be sent to Anthropic to fix this cell; nothing leaves before you send it'
    );
    this._button.setAttribute('data-testid', 'wd-aifix-error-button');
    this._button.addEventListener('click', () => {
      if (this._error !== null) {
        this._host.fix(this.node, this._error);
      }
    });
    this._bar = new Widget();
    this._bar.addClass('wd-aifix-errorBar');
    this._bar.node.appendChild(this._button);
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    this._error = parseErrorOutput(model.data[this._options.mimeType]);
    const layout = this.layout as PanelLayout;
    this._text?.dispose();
    this._text = this._host.createTextRenderer();
    layout.insertWidget(0, this._text);
    if (layout.widgets.indexOf(this._bar) < 0) {
      layout.addWidget(this._bar);
    }
    this._bar.setHidden(this._error === null);
    await this._text.renderModel(model);
  }

  protected onAfterAttach(): void {
    this._bar.setHidden(this._error === null || !this._host.inNotebook(this.node));
  }

  private _bar: Widget;
  private _button: HTMLButtonElement;
  private _error: IErrorOutput | null = null;
  private _text: IRenderMime.IRenderer | null = null;
}

/** The factory the plugin adds to the rendermime registry. */
export function errorRendererFactory(host: IErrorFixHost): IRenderMime.IRendererFactory {
  return {
    safe: true,
    mimeTypes: [ERROR_MIME_TYPE],
    defaultRank: ERROR_RENDERER_RANK,
    createRenderer: options => new ErrorOutputRenderer(options, host)
  };
}
