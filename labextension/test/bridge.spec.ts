/**
 * The notebook bridge's handler on a real shared notebook model (`@jupyter/ydoc`): what the
 * kernel-side panel may ask, and what it may not.
 */
import { YCodeCell, YNotebook } from '@jupyter/ydoc';

import {
  handleBridgeMessage,
  IBridgeCell,
  IBridgeMessages,
  IBridgeNotebook
} from '../src/bridge/handler';

const MESSAGES: IBridgeMessages = {
  badRequest: 'bad request',
  noCell: 'no such cell',
  notFailed: 'not a failed cell',
  changed: 'the cell changed',
  saveFailed: 'could not save'
};
const BROKEN = 'total = prices["last"] * 3';
const FIXED = 'total = prices.get("last", 0) * 3\n';

interface IFixture {
  model: YNotebook;
  notebook: IBridgeNotebook;
  saves: number;
  failed: Set<string>;
}

function fixture(saveError?: Error): IFixture {
  const model = YNotebook.create({
    data: {
      cells: [
        { cell_type: 'markdown', source: '# notes', id: 'notes', metadata: {} },
        {
          cell_type: 'code',
          source: 'prices = {}',
          id: 'setup',
          metadata: {},
          outputs: [],
          execution_count: 1
        },
        {
          cell_type: 'code',
          source: BROKEN,
          id: 'broken',
          metadata: {},
          outputs: [],
          execution_count: 2
        }
      ]
    }
  });
  const state: IFixture = {
    model,
    saves: 0,
    failed: new Set(['broken']),
    notebook: {
      save: async () => {
        if (saveError) {
          throw saveError;
        }
        state.saves += 1;
      },
      *cells(): Iterable<IBridgeCell> {
        for (const cell of model.cells) {
          yield {
            id: cell.id,
            type: cell.cell_type,
            failed: state.failed.has(cell.id),
            sharedModel: cell as YCodeCell
          };
        }
      }
    }
  };
  return state;
}

function source(model: YNotebook, id: string): string {
  return model.cells.find(cell => cell.id === id)!.getSource();
}

describe('the notebook bridge', () => {
  // Yjs warns when ydoc fills a cell before it joins the document (ydoc's own creation path).
  beforeAll(() => jest.spyOn(console, 'warn').mockImplementation(() => undefined));
  afterAll(() => jest.restoreAllMocks());

  it('saves the notebook and answers ok with the request id', async () => {
    const f = fixture();
    const reply = await handleBridgeMessage({ id: 7, action: 'save' }, f.notebook, MESSAGES);
    expect(reply).toEqual({ id: 7, ok: true });
    expect(f.saves).toBe(1);
  });

  it('answers a failed save with its reason', async () => {
    const f = fixture(new Error('disk full'));
    const reply = await handleBridgeMessage({ id: 1, action: 'save' }, f.notebook, MESSAGES);
    expect(reply).toEqual({ id: 1, ok: false, error: 'could not save: disk full' });
  });

  it('replaces the failing cell by id', async () => {
    const f = fixture();
    const reply = await handleBridgeMessage(
      { id: 2, action: 'replace-cell', cell_id: 'broken', expected: BROKEN, source: FIXED },
      f.notebook,
      MESSAGES
    );
    expect(reply).toEqual({ id: 2, ok: true });
    expect(source(f.model, 'broken')).toBe(FIXED);
    expect(source(f.model, 'setup')).toBe('prices = {}');
  });

  it('makes the replacement one undoable edit', async () => {
    const f = fixture();
    const cell = f.model.cells.find(c => c.id === 'broken')!;
    cell.undoManager?.stopCapturing();
    await handleBridgeMessage(
      { id: 3, action: 'replace-cell', cell_id: 'broken', expected: BROKEN, source: FIXED },
      f.notebook,
      MESSAGES
    );
    expect(cell.canUndo()).toBe(true);
    cell.undo();
    expect(cell.getSource()).toBe(BROKEN);
  });

  it('finds the failing cell by its source when the kernel has no cell id', async () => {
    const f = fixture();
    const reply = await handleBridgeMessage(
      { id: 4, action: 'replace-cell', cell_id: '', expected: BROKEN, source: FIXED },
      f.notebook,
      MESSAGES
    );
    expect(reply?.ok).toBe(true);
    expect(source(f.model, 'broken')).toBe(FIXED);
  });

  it('refuses to replace a cell edited since it failed, and keeps the edit', async () => {
    const f = fixture();
    f.model.cells.find(c => c.id === 'broken')!.setSource('my own edit');
    const reply = await handleBridgeMessage(
      { id: 5, action: 'replace-cell', cell_id: 'broken', expected: BROKEN, source: FIXED },
      f.notebook,
      MESSAGES
    );
    expect(reply).toEqual({ id: 5, ok: false, error: 'the cell changed' });
    expect(source(f.model, 'broken')).toBe('my own edit');
  });

  it('refuses to edit a cell that did not fail, whatever the kernel asks', async () => {
    const f = fixture();
    const reply = await handleBridgeMessage(
      { id: 6, action: 'replace-cell', cell_id: 'setup', expected: 'prices = {}', source: 'x' },
      f.notebook,
      MESSAGES
    );
    expect(reply).toEqual({ id: 6, ok: false, error: 'not a failed cell' });
    expect(source(f.model, 'setup')).toBe('prices = {}');
  });

  it('refuses malformed and unknown requests', async () => {
    const f = fixture();
    const replies = await Promise.all([
      handleBridgeMessage({ id: 8, action: 'delete-cell' }, f.notebook, MESSAGES),
      handleBridgeMessage(
        { id: 9, action: 'replace-cell', cell_id: 'broken', expected: BROKEN, source: 42 },
        f.notebook,
        MESSAGES
      )
    ]);
    expect(replies).toEqual([
      { id: 8, ok: false, error: 'bad request' },
      { id: 9, ok: false, error: 'bad request' }
    ]);
    expect(source(f.model, 'broken')).toBe(BROKEN);
  });

  it('does not answer the greeting a comm opens with', async () => {
    const f = fixture();
    expect(await handleBridgeMessage({ action: 'hello' }, f.notebook, MESSAGES)).toBeNull();
  });
});
