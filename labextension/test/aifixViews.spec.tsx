/**
 * The Fix with AI dialog as rendered: the payload view, the diff, and the password that sends,
 * over the real client and a fake server.
 */
import { nullTranslator } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';
import * as React from 'react';

import { AIFixCommandIDs } from '../src/aifix/commands';

import { AIFixClient } from '../src/aifix/client';
import { FixSession } from '../src/aifix/session';
import { BotFixTarget } from '../src/aifix/targets';
import { DiffView, FixDialogView, PayloadView } from '../src/aifix/views';
import { BotItem } from '../src/components/bots/BotItem';
import { IBotSummary } from '../src/components/bots/bots';
import { CommandsContext } from '../src/logs/commands';
import { FakeServer, json, waitFor } from './fakeServer';
import { byTestId, disposeMounted, everything, mountNode, submit } from './render';

const trans = nullTranslator.load('watchdog-lab');
const SHA = 'b'.repeat(64);
const PASSWORD = 'correct horse battery staple';
const HOSTILE = '<img src="x" onerror="window.__wdPwned = true">';

const PAYLOAD = {
  body: JSON.stringify({
    messages: [{ role: 'user', content: `<cell>\nprint("${HOSTILE}")\n</cell>` }]
  }),
  sha256: SHA,
  size: 120,
  model: 'claude-test',
  redactions: 2,
  traceback_cut: true
};

const FIX = {
  outcome: 'fixed',
  explanation: `Escaped: ${HOSTILE}`,
  fixed_source: 'print(1)\n',
  diff: `--- a/cell\n+++ b/cell\n@@ -1 +1 @@\n-print("${HOSTILE}")\n+print(1)\n`,
  source_redacted: true,
  sha256: SHA,
  model: 'claude-test'
};

function server(): FakeServer {
  const fake = new FakeServer();
  fake.routes.set('GET bots/looper', () =>
    json({
      id: 'b1',
      name: 'looper',
      mode: 'once',
      state: 'crashed',
      notebook_version: 1,
      status: {}
    })
  );
  fake.routes.set('GET bots/looper/ai-fix/preview', () => json(PAYLOAD));
  fake.routes.set('POST bots/looper/ai-fix', () => json(FIX));
  fake.routes.set('GET connections', () => json({ connections: [] }));
  return fake;
}

afterEach(() => {
  disposeMounted();
  delete (window as { __wdPwned?: boolean }).__wdPwned;
});

describe('PayloadView', () => {
  it('shows the message to the model and the exact body as text, never as HTML', async () => {
    const payload = {
      body: PAYLOAD.body,
      sha256: SHA,
      size: 120,
      model: 'claude-test',
      redactions: 2,
      tracebackCut: true
    };
    const root = await mountNode(<PayloadView payload={payload} trans={trans} />);

    expect(byTestId(root, 'wd-aifix-message').textContent).toContain(HOSTILE);
    expect(byTestId(root, 'wd-aifix-body').textContent).toBe(PAYLOAD.body);
    expect(byTestId(root, 'wd-aifix-sha256').textContent).toBe(SHA);
    expect(byTestId(root, 'wd-aifix-redactions').textContent).toBe('2');
    expect(root.querySelector('img')).toBeNull();
  });
});

describe('DiffView', () => {
  it('renders added and removed lines as escaped text', async () => {
    const root = await mountNode(<DiffView diff={FIX.diff} trans={trans} />);

    expect(root.querySelector('img')).toBeNull();
    const removed = root.querySelector('[data-kind="removed"]')!;
    expect(removed.textContent).toContain(`-print("${HOSTILE}")`);
    expect(root.querySelector('[data-kind="added"]')!.textContent).toContain('+print(1)');
    expect((window as { __wdPwned?: boolean }).__wdPwned).toBeUndefined();
  });
});

describe('FixDialogView', () => {
  async function opened(fake: FakeServer): Promise<{ root: HTMLElement; session: FixSession }> {
    const target = new BotFixTarget(new AIFixClient(fake.client(), trans), 'looper', trans);
    const session = new FixSession(target, trans);
    const root = await mountNode(<FixDialogView session={session} trans={trans} />);
    await session.start();
    await waitFor(() => root.querySelector('[data-testid="wd-aifix-password"]') !== null);
    return { root, session };
  }

  it('empties the password field as the form is sent, and keeps it out of the page', async () => {
    const fake = server();
    const { root, session } = await opened(fake);
    const password = byTestId<HTMLInputElement>(root, 'wd-aifix-password');
    password.value = PASSWORD;

    submit(root);

    expect(password.value).toBe('');
    await waitFor(() => session.step.kind === 'proposal');
    expect(fake.sent.find(sent => sent.method === 'POST')!.body).toEqual({
      sha256: SHA,
      password: PASSWORD
    });
    expect(everything(root)).not.toContain(PASSWORD);
  });

  it('shows the explanation, the diff and the redaction note of the proposal', async () => {
    const fake = server();
    const { root, session } = await opened(fake);
    byTestId<HTMLInputElement>(root, 'wd-aifix-password').value = PASSWORD;
    submit(root);
    await waitFor(() => session.step.kind === 'proposal');
    await waitFor(() => root.querySelector('[data-testid="wd-aifix-diff"]') !== null);

    expect(byTestId(root, 'wd-aifix-explanation').textContent).toBe(FIX.explanation);
    expect(byTestId(root, 'wd-aifix-redacted-note')).toBeTruthy();
    expect(byTestId(root, 'wd-aifix-accept').textContent).toBe('Fix and publish v2');
    expect(root.querySelector('img')).toBeNull();
  });

  it('shows the server message of a refused send under the form', async () => {
    const fake = server();
    fake.routes.set('POST bots/looper/ai-fix', () =>
      json({ reason: 'wrong_password', message: 'The vault password is wrong.' }, 422)
    );
    const { root } = await opened(fake);
    byTestId<HTMLInputElement>(root, 'wd-aifix-password').value = 'nope';

    submit(root);

    await waitFor(() => root.querySelector('[data-testid="wd-aifix-error"]') !== null);
    expect(byTestId(root, 'wd-aifix-error').textContent).toBe('The vault password is wrong.');
    expect(byTestId<HTMLInputElement>(root, 'wd-aifix-password').value).toBe('');
  });
});

describe('a locked vault', () => {
  it('offers to unlock it in the sidebar, closing the dialog', async () => {
    const fake = server();
    fake.routes.set('GET bots/looper/ai-fix/preview', () =>
      json({ reason: 'vault_locked', message: 'The vault is locked.' }, 423)
    );
    const target = new BotFixTarget(new AIFixClient(fake.client(), trans), 'looper', trans);
    const session = new FixSession(target, trans);
    const finished = jest.fn();
    session.finished.connect(finished);
    const unlock = jest.fn(() => session.close());
    const root = await mountNode(
      <FixDialogView session={session} trans={trans} onUnlock={unlock} />
    );
    await session.start();
    await waitFor(() => root.querySelector('[data-testid="wd-aifix-unlock"]') !== null);
    expect(byTestId(root, 'wd-aifix-error').textContent).toBe('The vault is locked.');

    byTestId(root, 'wd-aifix-unlock').click();

    expect(unlock).toHaveBeenCalledTimes(1);
    expect(finished).toHaveBeenCalledTimes(1);
  });
});

describe('the Bots card', () => {
  const crashed: IBotSummary = {
    id: 'b1',
    name: 'looper',
    mode: 'once',
    interval: null,
    state: 'crashed',
    desiredState: 'stopped',
    connections: [],
    notebookVersion: 1,
    runs: 1,
    restarts: 0,
    nextRunAt: null,
    reason: null,
    lastError: 'KeyError: last',
    sandbox: 'landlock (ABI 7)'
  };

  async function card(bot: IBotSummary, commands: CommandRegistry): Promise<HTMLElement> {
    return mountNode(
      <CommandsContext.Provider value={commands}>
        <BotItem api={server().client()} bot={bot} trans={trans} onChanged={() => undefined} />
      </CommandsContext.Provider>
    );
  }

  it('runs Fix with AI on a crashed bot by its name', async () => {
    const commands = new CommandRegistry();
    const fixed: unknown[] = [];
    commands.addCommand(AIFixCommandIDs.fixBot, { execute: args => void fixed.push(args) });
    const root = await card(crashed, commands);

    byTestId(root, 'wd-bots-fix').click();

    expect(fixed).toEqual([{ bot: 'looper' }]);
  });

  it('offers no fix for a bot that did not crash', async () => {
    const commands = new CommandRegistry();
    commands.addCommand(AIFixCommandIDs.fixBot, { execute: () => undefined });
    const root = await card({ ...crashed, state: 'running', lastError: null }, commands);

    expect(root.querySelector('[data-testid="wd-bots-fix"]')).toBeNull();
  });
});
