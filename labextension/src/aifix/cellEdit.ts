/**
 * Putting an accepted fix into a notebook cell as one undoable edit.
 *
 * Kept apart from the notebook widgets so that it runs, and is tested, on the shared model
 * alone: the edit is the one thing of AI Fix that changes the user's notebook.
 */

/** What of a cell's shared model the edit uses (`ISharedCell` in JupyterLab). */
export interface IEditableSource {
  getSource(): string;
  setSource(value: string): void;
  transact(f: () => void, undoable?: boolean): void;
  /** The cell's (or, with document-wide undo, the notebook's) Yjs undo manager. */
  readonly undoManager?: { stopCapturing(): void } | null;
}

/** The cell is no longer the one the fix was made for; nothing was changed. */
export class CellChangedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CellChangedError';
  }
}

/**
 * Replace the source with `fixed` if it still is `expected` (the source that was sent).
 *
 * One transaction, fenced by `stopCapturing` on both sides: Yjs merges edits made within half a
 * second into one undo step, so without the fences a keystroke just before or after would be
 * undone together with the fix, and Undo would not give back exactly the source that failed.
 *
 * @throws {CellChangedError} when the cell was edited since: its new text would be lost.
 */
export function replaceSource(
  cell: IEditableSource,
  expected: string,
  fixed: string,
  changedMessage: string
): void {
  if (cell.getSource() !== expected) {
    throw new CellChangedError(changedMessage);
  }
  cell.undoManager?.stopCapturing();
  cell.transact(() => cell.setSource(fixed));
  cell.undoManager?.stopCapturing();
}
