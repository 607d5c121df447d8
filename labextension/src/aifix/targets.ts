/**
 * The two things Fix with AI can fix: a notebook cell that raised, and a bot's failed run.
 *
 * A cell is described once, when the dialog opens (source, error, language, path, index): the
 * preview and the send carry the same description, so the server rebuilds the same payload, and
 * the fix is accepted only while the cell still holds the source that was sent.
 */
import type { ICellModel } from '@jupyterlab/cells';
import type { NotebookPanel } from '@jupyterlab/notebook';
import { TranslationBundle } from '@jupyterlab/translation';

import { AIFixClient, ICellError, IFixPayload, IFixProposal } from './client';
import { replaceSource } from './cellEdit';
import { IFixTarget } from './session';

/** An error output as nbformat stores it (`output_type: "error"`). */
export interface IErrorOutput {
  ename: string;
  evalue: string;
  traceback: string[];
}

/** The fields of an error output, or `null` if `value` is not one. */
export function parseErrorOutput(value: unknown): IErrorOutput | null {
  if (typeof value !== 'object' || value === null) {
    return null;
  }
  const { ename, evalue, traceback } = value as Record<string, unknown>;
  if (typeof ename !== 'string') {
    return null;
  }
  return {
    ename,
    evalue: typeof evalue === 'string' ? evalue : '',
    traceback: Array.isArray(traceback)
      ? traceback.filter((line): line is string => typeof line === 'string')
      : []
  };
}

/** The last error among a code cell's outputs, or `null` when the cell did not raise. */
export function lastErrorOf(cell: ICellModel): IErrorOutput | null {
  if (cell.type !== 'code') {
    return null;
  }
  const outputs = (cell as ICellModel & { outputs?: { length: number; get(i: number): unknown } })
    .outputs;
  if (!outputs) {
    return null;
  }
  for (let index = outputs.length - 1; index >= 0; index--) {
    const output = outputs.get(index) as { type?: string; toJSON?: () => unknown };
    if (output.type === 'error' && output.toJSON) {
      const error = parseErrorOutput(output.toJSON());
      if (error) {
        return error;
      }
    }
  }
  return null;
}

/** Fix with AI on one cell of an open notebook. */
export class CellFixTarget implements IFixTarget {
  readonly kind = 'cell';
  readonly applyNeedsPassword = false;

  constructor(
    private readonly _client: AIFixClient,
    private readonly _panel: NotebookPanel,
    private readonly _cell: ICellModel,
    error: IErrorOutput,
    private readonly _trans: TranslationBundle
  ) {
    const notebook = _panel.content;
    const index = notebook.widgets.findIndex(widget => widget.model === _cell);
    const info = (notebook.model?.getMetadata('language_info') ?? {}) as Record<string, unknown>;
    const spec = (notebook.model?.getMetadata('kernelspec') ?? {}) as Record<string, unknown>;
    const language =
      typeof info.name === 'string' && info.name
        ? info.name
        : typeof spec.language === 'string' && spec.language
          ? spec.language
          : DEFAULT_LANGUAGE;
    this.cell = {
      source: _cell.sharedModel.getSource(),
      ename: error.ename,
      evalue: error.evalue,
      traceback: error.traceback,
      language,
      languageVersion: typeof info.version === 'string' ? info.version : '',
      path: _panel.context.path,
      cellIndex: index >= 0 ? index : null
    };
    this.title =
      index >= 0
        ? _trans.__('Cell %1 of %2', index + 1, _panel.context.path)
        : _trans.__('A cell of %1', _panel.context.path);
  }

  /** The cell as described to the server, fixed when the dialog opened. */
  readonly cell: ICellError;
  readonly title: string;

  get applyLabel(): string {
    return this._trans.__('Accept');
  }

  preview(): Promise<IFixPayload> {
    return this._client.previewCell(this.cell);
  }

  send(sha256: string, password: string, connection: string | null): Promise<IFixProposal> {
    return this._client.sendCell(this.cell, sha256, password, connection);
  }

  connections(): Promise<string[]> {
    return this._client.anthropicConnections();
  }

  async apply(proposal: IFixProposal): Promise<string> {
    const notebook = this._panel.content;
    const index = notebook.widgets.findIndex(widget => widget.model === this._cell);
    if (this._panel.isDisposed || index < 0 || proposal.fixedSource === null) {
      throw new Error(
        this._trans.__('The cell is no longer in the notebook; nothing was changed.')
      );
    }
    replaceSource(
      this._cell.sharedModel,
      this.cell.source,
      proposal.fixedSource,
      this._trans.__(
        'The cell was edited after it was sent; nothing was changed. Run it again and use Fix with AI on the new error.'
      )
    );
    // The fixed cell becomes the active one, so the Edit menu's Undo (and Ctrl+Z in its
    // editor) take the fix back.
    notebook.activeCellIndex = index;
    notebook.mode = 'command';
    return this._trans.__('The fix is in cell %1. Undo takes it back.', index + 1);
  }
}

/** Fix with AI on a bot's failed run, published as the bot's next notebook version. */
export class BotFixTarget implements IFixTarget {
  readonly kind = 'bot';
  readonly applyNeedsPassword = true;

  constructor(
    private readonly _client: AIFixClient,
    private readonly _bot: string,
    private readonly _trans: TranslationBundle
  ) {
    this.title = _trans.__('Bot "%1"', _bot);
  }

  readonly title: string;

  /** The version the failure was in: the one a fix is made for, known after the preview. */
  get version(): number | null {
    return this._version;
  }

  get applyLabel(): string {
    return this._version === null
      ? this._trans.__('Fix and publish')
      : this._trans.__('Fix and publish v%1', this._version + 1);
  }

  async preview(): Promise<IFixPayload> {
    // The version first: the preview is refused when the failure is of another version, so a
    // version read before a successful preview is the one the payload was built from.
    const bot = await this._client.describeBot(this._bot);
    const payload = await this._client.previewBot(this._bot);
    this._version = bot.notebookVersion;
    return payload;
  }

  send(sha256: string, password: string, connection: string | null): Promise<IFixProposal> {
    return this._client.sendBot(this._bot, sha256, password, connection);
  }

  connections(): Promise<string[]> {
    return this._client.anthropicConnections();
  }

  async apply(
    proposal: IFixProposal,
    payload: IFixPayload,
    password: string | null
  ): Promise<string> {
    if (proposal.fixedSource === null || this._version === null || password === null) {
      throw new Error(this._trans.__('There is no fix to publish.'));
    }
    const bot = await this._client.applyBot(
      this._bot,
      proposal.fixedSource,
      this._version,
      payload.sha256,
      password
    );
    return this._trans.__('Published version %1 of "%2".', bot.notebookVersion, bot.name);
  }

  private _version: number | null = null;
}

/** What a cell's language is taken to be when the notebook does not say. */
const DEFAULT_LANGUAGE = 'python';
