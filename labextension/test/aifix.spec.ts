/**
 * Fix with AI: the REST client, the dialog's state machine over the real client and a fake
 * server, the diff parser, and the one edit an accepted fix makes to a notebook cell.
 */
import { NotebookModel, NotebookPanel } from '@jupyterlab/notebook';
import { nullTranslator } from '@jupyterlab/translation';

import { replaceSource } from '../src/aifix/cellEdit';
import {
  AIFixClient,
  ICellError,
  IFixPayload,
  IFixProposal,
  parsePayload
} from '../src/aifix/client';
import { parseUnifiedDiff } from '../src/aifix/diff';
import { FixSession, IFixTarget } from '../src/aifix/session';
import { BotFixTarget, CellFixTarget, lastErrorOf } from '../src/aifix/targets';
import { FakeServer, json } from './fakeServer';

const trans = nullTranslator.load('watchdog-lab');
const SHA = 'a'.repeat(64);
const PASSWORD = 'correct horse battery staple';

const CELL: ICellError = {
  source: "total = prices['last']\n",
  ename: 'KeyError',
  evalue: "'last'",
  traceback: ['\u001b[31mKeyError\u001b[0m'],
  language: 'python',
  languageVersion: '3.12.1',
  path: 'a.ipynb',
  cellIndex: 2
};

const PAYLOAD = {
  body: '{"messages":[{"content":"<cell>x</cell>","role":"user"}]}',
  sha256: SHA,
  size: 52,
  model: 'claude-test',
  redactions: 1,
  traceback_cut: false
};

const FIX = {
  outcome: 'fixed',
  explanation: 'Use the close price.',
  fixed_source: "total = prices['close']\n",
  diff: "--- a/cell\n+++ b/cell\n@@ -1 +1 @@\n-total = prices['last']\n+total = prices['close']\n",
  no_fix_reason: null,
  source_redacted: false,
  sha256: SHA,
  model: 'claude-test',
  input_tokens: 10,
  output_tokens: 5
};

function error(status: number, reason: string, message: string): Response {
  return json({ reason, message }, status);
}

/** A server with one bot, `looper`, failed in version 3, and an `anthropic` connection. */
function aifixServer(): FakeServer {
  const server = new FakeServer();
  server.routes.set('POST ai-fix/preview', () => json(PAYLOAD));
  server.routes.set('POST ai-fix', () => json(FIX));
  server.routes.set('GET bots/looper', () => json(bot(3)));
  server.routes.set('GET bots/looper/ai-fix/preview', () => json(PAYLOAD));
  server.routes.set('POST bots/looper/ai-fix', () => json(FIX));
  server.routes.set('POST bots/looper/ai-fix/apply', () => json(bot(4)));
  server.routes.set('GET connections', () =>
    json({
      connections: [{ id: '1', name: 'claude', kind: 'anthropic', fields: {}, status: 'ok' }]
    })
  );
  return server;
}

function bot(version: number): Record<string, unknown> {
  return {
    id: 'b1',
    name: 'looper',
    mode: 'once',
    state: 'crashed',
    desired_state: 'stopped',
    connections: [],
    notebook_version: version,
    status: { runs: 1, restarts: 0 }
  };
}

/** A notebook cell's target over the real client, whose apply records what it was given. */
class CellTarget implements IFixTarget {
  readonly kind = 'cell';
  readonly title = 'Cell 3 of a.ipynb';
  readonly applyNeedsPassword = false;
  readonly applyLabel = 'Accept';
  applied: IFixProposal[] = [];
  applyError: Error | null = null;

  constructor(private readonly _client: AIFixClient) {}

  preview(): Promise<IFixPayload> {
    return this._client.previewCell(CELL);
  }

  send(sha256: string, password: string, connection: string | null): Promise<IFixProposal> {
    return this._client.sendCell(CELL, sha256, password, connection);
  }

  async apply(proposal: IFixProposal): Promise<string> {
    if (this.applyError) {
      throw this.applyError;
    }
    this.applied.push(proposal);
    return 'applied';
  }

  connections(): Promise<string[]> {
    return this._client.anthropicConnections();
  }
}

function cellSession(server: FakeServer): { session: FixSession; target: CellTarget } {
  const target = new CellTarget(new AIFixClient(server.client(), trans));
  return { session: new FixSession(target, trans), target };
}

function bodies(server: FakeServer, call: string): unknown[] {
  return server.sent.filter(sent => `${sent.method} ${sent.path}` === call).map(s => s.body);
}

describe('AIFixClient', () => {
  it('previews a cell with the fields the server names, and no password', async () => {
    const server = aifixServer();
    const payload = await new AIFixClient(server.client(), trans).previewCell(CELL);

    expect(payload).toEqual({
      body: PAYLOAD.body,
      sha256: SHA,
      size: 52,
      model: 'claude-test',
      redactions: 1,
      tracebackCut: false
    });
    expect(bodies(server, 'POST /watchdog-lab/ai-fix/preview')).toEqual([
      {
        source: CELL.source,
        ename: 'KeyError',
        evalue: "'last'",
        traceback: CELL.traceback,
        language: 'python',
        language_version: '3.12.1',
        path: 'a.ipynb',
        cell_index: 2
      }
    ]);
  });

  it('refuses a payload whose hash is not a SHA-256', () => {
    expect(parsePayload({ ...PAYLOAD, sha256: 'nope' })).toBeNull();
    expect(parsePayload({ ...PAYLOAD, body: 3 })).toBeNull();
  });
});

describe('FixSession', () => {
  it('shows the preview and sends nothing until the password is given', async () => {
    const server = aifixServer();
    const { session } = cellSession(server);

    await session.start();

    expect(session.step).toMatchObject({ kind: 'preview', stale: false, error: null });
    expect(server.calls()).not.toContain('POST /watchdog-lab/ai-fix');
  });

  it('sends the previewed hash with the password and shows the proposal', async () => {
    const server = aifixServer();
    const { session } = cellSession(server);
    await session.start();

    await session.send(PASSWORD);

    expect(session.step.kind).toBe('proposal');
    const [sent] = bodies(server, 'POST /watchdog-lab/ai-fix') as Record<string, unknown>[];
    expect(sent).toMatchObject({ sha256: SHA, password: PASSWORD, source: CELL.source });
    expect(sent).not.toHaveProperty('connection');
  });

  it('shows a refused password in the server words and stays on the preview', async () => {
    const server = aifixServer();
    server.routes.set('POST ai-fix', () =>
      error(422, 'wrong_password', 'The vault password is wrong.')
    );
    const { session } = cellSession(server);
    await session.start();

    await session.send('nope');

    expect(session.step).toMatchObject({
      kind: 'preview',
      error: 'The vault password is wrong.',
      stale: false
    });
  });

  it('marks the preview stale when the payload changed, and sends it no more', async () => {
    const server = aifixServer();
    server.routes.set('POST ai-fix', () =>
      error(409, 'ai_payload_changed', 'The payload changed since the preview; preview again.')
    );
    const { session } = cellSession(server);
    await session.start();
    await session.send(PASSWORD);
    expect(session.step).toMatchObject({ kind: 'preview', stale: true });

    await session.send(PASSWORD);

    expect(bodies(server, 'POST /watchdog-lab/ai-fix')).toHaveLength(1);
  });

  it('says why a preview failed and can try again', async () => {
    const server = aifixServer();
    server.routes.set('POST ai-fix/preview', () =>
      error(423, 'vault_locked', 'The vault is locked. Unlock it first.')
    );
    const { session } = cellSession(server);
    await session.start();
    expect(session.step).toEqual({
      kind: 'preview-failed',
      error: 'The vault is locked. Unlock it first.',
      locked: true
    });

    server.routes.set('POST ai-fix/preview', () => json(PAYLOAD));
    await session.start();

    expect(session.step.kind).toBe('preview');
  });

  it('applies an accepted cell fix at once and finishes', async () => {
    const server = aifixServer();
    const { session, target } = cellSession(server);
    const finished = jest.fn();
    session.finished.connect(finished);
    await session.start();
    await session.send(PASSWORD);

    await session.accept();

    expect(target.applied.map(fix => fix.fixedSource)).toEqual([FIX.fixed_source]);
    expect(session.step).toEqual({ kind: 'applied', message: 'applied' });
    expect(finished).toHaveBeenCalledTimes(1);
  });

  it('keeps the proposal with the reason when the fix cannot be applied', async () => {
    const server = aifixServer();
    const { session, target } = cellSession(server);
    target.applyError = new Error('The cell was edited after it was sent.');
    await session.start();
    await session.send(PASSWORD);

    await session.accept();

    expect(session.step).toMatchObject({
      kind: 'proposal',
      error: 'The cell was edited after it was sent.'
    });
  });

  it('offers nothing to accept when no fix was proposed', async () => {
    const server = aifixServer();
    server.routes.set('POST ai-fix', () =>
      json({ ...FIX, outcome: 'no_fix', fixed_source: null, diff: '', no_fix_reason: 'same' })
    );
    const { session, target } = cellSession(server);
    await session.start();
    await session.send(PASSWORD);

    await session.accept();

    expect(session.step.kind).toBe('proposal');
    expect(target.applied).toEqual([]);
  });

  it('rejecting changes nothing and finishes', async () => {
    const server = aifixServer();
    const { session, target } = cellSession(server);
    const finished = jest.fn();
    session.finished.connect(finished);
    await session.start();
    await session.send(PASSWORD);

    session.reject();

    expect(session.step.kind).toBe('rejected');
    expect(target.applied).toEqual([]);
    expect(finished).toHaveBeenCalledTimes(1);
  });

  it('sends with the connection the user chose among several', async () => {
    const server = aifixServer();
    server.routes.set('GET connections', () =>
      json({
        connections: ['a', 'b'].map(name => ({ id: name, name, kind: 'anthropic', fields: {} }))
      })
    );
    const { session } = cellSession(server);
    await session.start();
    await new Promise(resolve => setTimeout(resolve, 0));
    expect(session.connections).toEqual(['a', 'b']);

    session.connection = 'b';
    await session.send(PASSWORD);

    const [sent] = bodies(server, 'POST /watchdog-lab/ai-fix') as Record<string, unknown>[];
    expect(sent.connection).toBe('b');
  });
});

describe('Fix with AI on a bot', () => {
  async function proposed(server: FakeServer): Promise<FixSession> {
    const target = new BotFixTarget(new AIFixClient(server.client(), trans), 'looper', trans);
    const session = new FixSession(target, trans);
    await session.start();
    await session.send(PASSWORD);
    return session;
  }

  it('asks for the password before publishing, and publishes nothing before', async () => {
    const server = aifixServer();
    const session = await proposed(server);

    await session.accept();

    expect(session.step.kind).toBe('confirming');
    expect(session.target.applyLabel).toBe('Fix and publish v4');
    expect(server.calls()).not.toContain('POST /watchdog-lab/bots/looper/ai-fix/apply');
  });

  it('publishes the fix for the version it was made for, with the payload hash', async () => {
    const server = aifixServer();
    const session = await proposed(server);
    await session.accept();

    await session.confirm(PASSWORD);

    expect(bodies(server, 'POST /watchdog-lab/bots/looper/ai-fix/apply')).toEqual([
      {
        fixed_source: FIX.fixed_source,
        expected_version: 3,
        payload_sha256: SHA,
        password: PASSWORD
      }
    ]);
    expect(session.step).toEqual({ kind: 'applied', message: 'Published version 4 of "looper".' });
  });

  it('stays on the confirmation with the server words when the publish is refused', async () => {
    const server = aifixServer();
    server.routes.set('POST bots/looper/ai-fix/apply', () =>
      error(409, 'stale_version', 'looper moved on to version 4; fix it again.')
    );
    const session = await proposed(server);
    await session.accept();

    await session.confirm(PASSWORD);

    expect(session.step).toMatchObject({
      kind: 'confirming',
      error: 'looper moved on to version 4; fix it again.'
    });
  });
});

describe('parseUnifiedDiff', () => {
  it('numbers the lines of each side', () => {
    const lines = parseUnifiedDiff('--- a/cell\n+++ b/cell\n@@ -1,2 +1,2 @@\n x\n-y\n+z\n');
    expect(lines.map(l => [l.kind, l.oldNumber, l.newNumber])).toEqual([
      ['file', null, null],
      ['file', null, null],
      ['hunk', null, null],
      ['context', 1, 1],
      ['removed', 2, null],
      ['added', null, 2]
    ]);
  });

  it('reads a removed line that starts with two dashes as removed, not as a header', () => {
    const lines = parseUnifiedDiff('--- a/cell\n+++ b/cell\n@@ -1 +1 @@\n--- x\n+++ y\n');
    expect(lines.slice(3).map(l => l.kind)).toEqual(['removed', 'added']);
  });
});

describe('replaceSource', () => {
  function codeCell(source: string) {
    const model = new NotebookModel();
    model.sharedModel.insertCell(0, { cell_type: 'code', source });
    return { model, cell: model.sharedModel.cells[0] };
  }

  it('puts the fix in as one step that one undo takes back', () => {
    const { model, cell } = codeCell('a = 1\nb = a[0]\n');

    replaceSource(cell, 'a = 1\nb = a[0]\n', 'a = [1]\nb = a[0]\n', 'changed');

    expect(cell.getSource()).toBe('a = [1]\nb = a[0]\n');
    cell.undo();
    expect(cell.getSource()).toBe('a = 1\nb = a[0]\n');
    model.dispose();
  });

  it('keeps an edit typed just before the fix out of the undo step', () => {
    const { model, cell } = codeCell('a = 1\n');
    cell.clearUndoHistory();
    cell.updateSource(5, 5, '0'); // typed: "a = 10"

    replaceSource(cell, 'a = 10\n', 'a = [10]\n', 'changed');
    cell.undo();

    expect(cell.getSource()).toBe('a = 10\n');
    model.dispose();
  });

  it('changes nothing when the cell was edited since it was sent', () => {
    const { model, cell } = codeCell('edited since\n');

    expect(() => replaceSource(cell, 'as sent\n', 'fixed\n', 'The cell changed.')).toThrow(
      'The cell changed.'
    );
    expect(cell.getSource()).toBe('edited since\n');
    model.dispose();
  });
});

describe('CellFixTarget', () => {
  const RAISED = {
    output_type: 'error',
    ename: 'KeyError',
    evalue: "'last'",
    traceback: ['KeyError: last']
  };

  function opened(source: string) {
    const model = new NotebookModel();
    model.setMetadata('language_info', { name: 'python', version: '3.12.1' });
    model.sharedModel.insertCells(0, [
      { cell_type: 'markdown', source: '# notes' },
      {
        cell_type: 'code',
        source,
        outputs: [{ output_type: 'stream', name: 'stdout', text: 'hi' }, RAISED]
      }
    ]);
    const cell = model.cells.get(1);
    const content = {
      model,
      widgets: [{ model: model.cells.get(0) }, { model: cell }],
      activeCellIndex: 0,
      mode: 'edit'
    };
    const panel = { content, context: { path: 'strategies/a.ipynb' }, isDisposed: false };
    return { model, cell, content, panel: panel as unknown as NotebookPanel };
  }

  function target(server: FakeServer, source: string) {
    const parts = opened(source);
    const error = lastErrorOf(parts.cell)!;
    const fix = new CellFixTarget(
      new AIFixClient(server.client(), trans),
      parts.panel,
      parts.cell,
      error,
      trans
    );
    return { ...parts, fix };
  }

  it("finds the error among a cell's outputs", () => {
    const { cell, model } = opened('x');
    expect(lastErrorOf(cell)).toEqual({
      ename: 'KeyError',
      evalue: "'last'",
      traceback: ['KeyError: last']
    });
    expect(lastErrorOf(model.cells.get(0))).toBeNull();
    model.dispose();
  });

  it('describes the cell with its notebook, index and language', () => {
    const { fix, model } = target(aifixServer(), 'prices["last"]\n');

    expect(fix.cell).toEqual({
      source: 'prices["last"]\n',
      ename: 'KeyError',
      evalue: "'last'",
      traceback: ['KeyError: last'],
      language: 'python',
      languageVersion: '3.12.1',
      path: 'strategies/a.ipynb',
      cellIndex: 1
    });
    expect(fix.title).toBe('Cell 2 of strategies/a.ipynb');
    model.dispose();
  });

  it('accepts the fix into the cell and makes that cell the active one', async () => {
    const server = aifixServer();
    const { fix, cell, content, model } = target(server, "total = prices['last']\n");
    const proposal = (await fix.send(SHA, PASSWORD, null)) as IFixProposal;

    await fix.apply(proposal);

    expect(cell.sharedModel.getSource()).toBe(FIX.fixed_source);
    expect([content.activeCellIndex, content.mode]).toEqual([1, 'command']);
    model.dispose();
  });

  it('refuses a fix for a cell edited since it was sent', async () => {
    const server = aifixServer();
    const { fix, cell, model } = target(server, "total = prices['last']\n");
    const proposal = await fix.send(SHA, PASSWORD, null);
    cell.sharedModel.setSource('edited\n');

    await expect(fix.apply(proposal)).rejects.toThrow('The cell was edited after it was sent');
    expect(cell.sharedModel.getSource()).toBe('edited\n');
    model.dispose();
  });
});
