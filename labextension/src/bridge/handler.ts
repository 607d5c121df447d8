/**
 * What the kernel-side panel (`wd.panel()`) may ask of the notebook it runs in: save it, or
 * replace its failing cell with an AI fix.
 *
 * The asker is kernel code, which is untrusted: every message is checked here, and the only edit
 * allowed is the one the panel needs, on a code cell whose outputs hold an error, only while it
 * still holds the source that failed (`expected`), as one undoable edit.
 */
import { CellChangedError, IEditableSource, replaceSource } from '../aifix/cellEdit';

/** The comm target the panel opens, on the kernel of every open notebook. */
export const BRIDGE_TARGET = 'watchdog-lab';

/** Longest source accepted for a cell: far beyond a cell, small enough to refuse a flood. */
export const MAX_SOURCE_CHARS = 1_000_000;

/** One cell of the notebook, as the bridge needs it. */
export interface IBridgeCell {
  readonly id: string;
  readonly type: string;
  /** Whether the cell's outputs hold an error (the cell failed when it last ran). */
  readonly failed: boolean;
  readonly sharedModel: IEditableSource;
}

/** The notebook the comm belongs to. */
export interface IBridgeNotebook {
  save(): Promise<void>;
  cells(): Iterable<IBridgeCell>;
}

/** The answer sent back; `id` is the request's. */
export interface IBridgeReply {
  id: number | null;
  ok: boolean;
  error?: string;
}

/** The user-facing sentences, through the translator. */
export interface IBridgeMessages {
  badRequest: string;
  noCell: string;
  notFailed: string;
  changed: string;
  saveFailed: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The cell to replace: by id, or, without one, the only failed code cell holding `expected`. */
function findCell(notebook: IBridgeNotebook, cellId: string, expected: string): IBridgeCell | null {
  const cells = Array.from(notebook.cells());
  if (cellId) {
    return cells.find(cell => cell.id === cellId) ?? null;
  }
  const candidates = cells.filter(
    cell => cell.type === 'code' && cell.failed && cell.sharedModel.getSource() === expected
  );
  return candidates.length === 1 ? candidates[0] : null;
}

/** Carry out one request of the panel; never throws (a failure is an answer). */
export async function handleBridgeMessage(
  data: unknown,
  notebook: IBridgeNotebook,
  messages: IBridgeMessages
): Promise<IBridgeReply | null> {
  if (!isRecord(data) || data.action === 'hello') {
    return null;
  }
  const id = typeof data.id === 'number' && Number.isSafeInteger(data.id) ? data.id : null;
  if (data.action === 'save') {
    try {
      await notebook.save();
      return { id, ok: true };
    } catch (reason) {
      const detail = reason instanceof Error && reason.message ? `: ${reason.message}` : '';
      return { id, ok: false, error: messages.saveFailed + detail };
    }
  }
  if (data.action === 'replace-cell') {
    const { cell_id: cellId, expected, source } = data;
    if (
      typeof cellId !== 'string' ||
      typeof expected !== 'string' ||
      typeof source !== 'string' ||
      source.length > MAX_SOURCE_CHARS
    ) {
      return { id, ok: false, error: messages.badRequest };
    }
    const cell = findCell(notebook, cellId, expected);
    if (!cell) {
      return { id, ok: false, error: messages.noCell };
    }
    if (cell.type !== 'code' || !cell.failed) {
      return { id, ok: false, error: messages.notFailed };
    }
    try {
      replaceSource(cell.sharedModel, expected, source, messages.changed);
      return { id, ok: true };
    } catch (reason) {
      const error = reason instanceof CellChangedError ? reason.message : messages.changed;
      return { id, ok: false, error };
    }
  }
  return { id, ok: false, error: messages.badRequest };
}
