import { nullTranslator } from '@jupyterlab/translation';
import * as React from 'react';

import { PromoteDialog } from '../src/promote/dialog';
import { PromoteView } from '../src/promote/PromoteView';
import { TRANSLATION_DOMAIN } from '../src/translation';
import { FakeServer, json, waitFor } from './fakeServer';
import { PLAN_BODY } from './promoteFixtures';
import { byTestId, disposeMounted, everything, mountNode, submit } from './render';

const trans = nullTranslator.load(TRANSLATION_DOMAIN);
const JOB_ID = 'f'.repeat(32);
const PASSWORD = 'correct horse battery staple';

function job(state: string, steps: string[], extra: object = {}): object {
  return { id: JOB_ID, kind: 'promote', state, steps, created_at: 1, ...extra };
}

/** A server with the plan, two connections and a job that takes `answers` polls to end. */
function promoteServer(answers: object[]): FakeServer {
  const server = new FakeServer();
  server.routes.set('POST promote/plan', () => json(PLAN_BODY));
  server.routes.set('connections', () =>
    json({
      connections: ['Kalshi', 'Binance'].map(name => ({
        id: name,
        name,
        kind: 'generic',
        fields: {},
        status: 'ok',
        error: null
      }))
    })
  );
  server.routes.set('POST bots', () => json(job('running', ['queued']), 202));
  const queue = [...answers];
  server.routes.set(`bots/jobs/${JOB_ID}`, () => json(queue.length > 1 ? queue.shift() : queue[0]));
  return server;
}

async function view(server: FakeServer, promoted: string[] = []): Promise<HTMLElement> {
  const node = await mountNode(
    <PromoteView
      api={server.client()}
      notebook="research/my strategy.ipynb"
      trans={trans}
      onClose={() => 0}
      onPromoted={name => promoted.push(name)}
      pollMs={5}
    />
  );
  await waitFor(() => node.querySelector('[data-testid="wd-promote-submit"]') !== null);
  return node;
}

function input(node: HTMLElement, testId: string, value: string): void {
  const field = byTestId<HTMLInputElement>(node, testId);
  const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!;
  setter.call(field, value);
  field.dispatchEvent(new Event('input', { bubbles: true }));
}

function tick(node: HTMLElement, selector: string): void {
  node.querySelector<HTMLInputElement>(selector)!.click();
}

describe('the promote dialog', () => {
  afterEach(disposeMounted);

  it('shows each package with its verdict and keeps Promote off until the flagged one is allowed', async () => {
    const node = await view(promoteServer([job('done', ['promoted'])]));
    const rows = Array.from(node.querySelectorAll<HTMLElement>('[data-testid="wd-promote-dep"]'));
    expect(rows.map(r => [r.dataset.spec, r.dataset.verdict])).toEqual([
      ['numpy==2.1.0', 'approved'],
      ['reqeusts', 'flagged']
    ]);
    expect(rows[1].textContent).toContain("did you mean 'requests'?");
    const promote = byTestId<HTMLButtonElement>(node, 'wd-promote-submit');
    expect(promote.disabled).toBe(true);
    tick(node, '[data-testid="wd-promote-allow"]');
    await waitFor(() => !promote.disabled);
  });

  it('sends the allowance and the changed parameters, then shows the steps until the bot is made', async () => {
    const server = promoteServer([
      job('running', ['queued', 'reading notebook', 'checking dependencies']),
      job('done', ['queued', 'reading notebook', 'checking dependencies', 'promoted'], {
        bot: { name: 'my strategy' }
      })
    ]);
    const promoted: string[] = [];
    const node = await view(server, promoted);
    tick(node, '[data-testid="wd-promote-allow"]');
    input(node, 'wd-promote-param-size', '2');
    await waitFor(() => !byTestId<HTMLButtonElement>(node, 'wd-promote-submit').disabled);
    submit(node);
    await waitFor(() => node.querySelector('[data-testid="wd-promote-done"]') !== null);
    const sent = server.sent.find(r => r.method === 'POST' && r.path.endsWith('/bots'));
    expect(sent?.body).toEqual({
      notebook: 'research/my strategy.ipynb',
      name: 'my strategy',
      mode: 'once',
      parameters: { size: 2 },
      connections: [],
      allow_packages: ['reqeusts'],
      start: false
    });
    expect(promoted).toEqual(['my strategy']);
    const steps = Array.from(node.querySelectorAll<HTMLElement>('[data-testid="wd-promote-step"]'));
    expect(steps.map(s => s.dataset.state)).toEqual(['done', 'done', 'done', 'done']);
    expect(byTestId(node, 'wd-promote-done').textContent).toContain('my strategy');
  });

  it('asks for the password only with a connection, sends it once and leaves no trace of it', async () => {
    const server = promoteServer([job('done', ['promoted'], { bot: { name: 'b' } })]);
    const node = await view(server);
    tick(node, '[data-testid="wd-promote-allow"]');
    expect(node.querySelector('[data-testid="wd-promote-password"]')).toBeNull();
    await waitFor(() => node.querySelector('[data-name="Kalshi"]') !== null);
    tick(node, '[data-name="Kalshi"]');
    await waitFor(() => node.querySelector('[data-testid="wd-promote-password"]') !== null);
    input(node, 'wd-promote-password', PASSWORD);
    submit(node);
    await waitFor(() => node.querySelector('[data-testid="wd-promote-done"]') !== null);
    const sent = server.sent.find(r => r.method === 'POST' && r.path.endsWith('/bots'));
    expect(sent?.body).toMatchObject({ connections: ['Kalshi'], password: PASSWORD });
    expect(everything(node)).not.toContain(PASSWORD);
  });

  it("shows a refused promote in the server's words and lets the user go back to the form", async () => {
    const server = promoteServer([
      job('failed', ['queued', 'building environment'], {
        error: 'Installing failed: no wheel for reqeusts'
      })
    ]);
    const node = await view(server);
    tick(node, '[data-testid="wd-promote-allow"]');
    submit(node);
    await waitFor(() => node.querySelector('[data-testid="wd-promote-error"]') !== null);
    expect(byTestId(node, 'wd-promote-error').textContent).toBe(
      'Installing failed: no wheel for reqeusts'
    );
    const steps = Array.from(node.querySelectorAll<HTMLElement>('[data-testid="wd-promote-step"]'));
    expect(steps.map(s => s.dataset.state)).toEqual(['done', 'failed']);
  });

  it('shows a refusal of the request itself (409: the name is taken) with its message', async () => {
    const server = promoteServer([]);
    server.routes.set('POST bots', () =>
      json({ message: "A bot named 'my strategy' exists already.", reason: 'duplicate_bot' }, 409)
    );
    const node = await view(server);
    tick(node, '[data-testid="wd-promote-allow"]');
    submit(node);
    await waitFor(() => node.querySelector('[data-testid="wd-promote-error"]') !== null);
    expect(byTestId(node, 'wd-promote-error').textContent).toBe(
      "A bot named 'my strategy' exists already."
    );
    expect(byTestId<HTMLInputElement>(node, 'wd-promote-name').value).toBe('my strategy');
  });

  it('does not send a name the server would refuse', async () => {
    const server = promoteServer([]);
    const node = await view(server);
    tick(node, '[data-testid="wd-promote-allow"]');
    input(node, 'wd-promote-name', 'bad/name');
    submit(node);
    await waitFor(() => node.querySelector('#wd-promote-name-problem') !== null);
    expect(server.calls().filter(c => c.endsWith('/bots'))).toEqual([]);
  });
});

describe('the promote dialog window', () => {
  it('closes on Escape and gives the focus back where it was', async () => {
    const before = document.createElement('button');
    document.body.appendChild(before);
    before.focus();
    const dialog = new PromoteDialog({
      api: promoteServer([]).client(),
      notebook: 'research/my strategy.ipynb',
      trans
    });
    const closed = dialog.open();
    await waitFor(() => dialog.node.querySelector('[data-testid="wd-promote-name"]') !== null);
    expect(dialog.node.getAttribute('role')).toBe('dialog');
    dialog.node
      .querySelector('input')!
      .dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));
    await closed;
    expect(dialog.isDisposed).toBe(true);
    expect(document.activeElement).toBe(before);
    before.remove();
  });
});
