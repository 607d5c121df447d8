import { nullTranslator } from '@jupyterlab/translation';
import { Signal } from '@lumino/signaling';
import * as React from 'react';

import { WatchdogApiClient } from '../src/api';
import { AccessContext, ConnectionUsageView } from '../src/components/access/ConnectionUsage';
import { AccessModel, INotebookRef, INotebookSource } from '../src/components/access/model';
import { NotebookAccessSection } from '../src/components/access/NotebookAccessSection';
import { VaultModel } from '../src/model';
import { TRANSLATION_DOMAIN } from '../src/translation';
import { FakeServer, json, waitFor } from './fakeServer';
import { byTestId, disposeMounted, everything, mountNode } from './render';

const trans = nullTranslator.load(TRANSLATION_DOMAIN);
const KERNEL = '0f9e3c2a-1b2c-4d5e-8f90-123456789abc';
const EXCHANGE = 'a'.repeat(32);
const PASSWORD = 'correct horse battery staple';

class FixedNotebook implements INotebookSource {
  changed = new Signal<this, void>(this);
  constructor(readonly current: INotebookRef | null) {}
}

const models: { dispose(): void }[] = [];
afterEach(() => {
  disposeMounted();
  models.splice(0).forEach(model => model.dispose());
});

/** A server where 'exchange' is granted to the kernel once a POST with the password came. */
async function setUp(notebook: INotebookRef | null): Promise<{
  server: FakeServer;
  model: AccessModel;
  passwordsAtSend: string[];
}> {
  const server = new FakeServer();
  let granted = false;
  const passwordsAtSend: string[] = [];
  server.routes.set('vault', () => json({ state: 'unlocked', totp_enabled: false }));
  server.routes.set('sandbox', () => json({}));
  server.routes.set('connection-usage', () =>
    json({
      usage: [
        {
          connection_id: EXCHANGE,
          connection: 'exchange',
          bots: ['momentum'],
          kernels: granted ? [{ kernel_id: KERNEL, path: 'research.ipynb' }] : [],
          remembered: []
        }
      ]
    })
  );
  server.routes.set(`kernels/${KERNEL}/grants`, () =>
    json({
      kernel_id: KERNEL,
      path: 'research.ipynb',
      vault: 'unlocked',
      grants: granted
        ? [{ connection_id: EXCHANGE, connection: 'exchange', source: 'ui', granted_at: 1 }]
        : [],
      suggested: []
    })
  );
  server.routes.set(`POST kernels/${KERNEL}/grants`, () => {
    // What the page holds while the request is on its way.
    passwordsAtSend.push(everything(document.body));
    granted = true;
    return json({}, 201);
  });
  server.routes.set(`DELETE kernels/${KERNEL}/grants/${EXCHANGE}`, () => {
    granted = false;
    return json({});
  });
  const api = new WatchdogApiClient({ serverSettings: server.settings() });
  const vault = new VaultModel({ api, polling: { interval: 60_000, backoffLimit: 60_000 } });
  const model = new AccessModel({
    api,
    vault,
    notebooks: new FixedNotebook(notebook),
    refreshSeconds: 60,
    isActive: () => true
  });
  models.push(model, vault);
  await vault.refresh();
  await model.refresh();
  return { server, model, passwordsAtSend };
}

function toggle(node: HTMLElement): HTMLButtonElement {
  return byTestId<HTMLButtonElement>(node, 'wd-access-toggle');
}

describe('NotebookAccessSection', () => {
  it('says so when the notebook has no kernel', async () => {
    const { model } = await setUp({ path: 'research.ipynb', kernelId: null });
    const node = await mountNode(<NotebookAccessSection model={model} trans={trans} />);
    expect(byTestId(node, 'wd-access-hint').textContent).toContain('no running kernel');
  });

  it('lists each connection with a labelled switch for the notebook', async () => {
    const { model } = await setUp({ path: 'research.ipynb', kernelId: KERNEL });
    const node = await mountNode(<NotebookAccessSection model={model} trans={trans} />);
    expect(toggle(node).getAttribute('role')).toBe('switch');
    expect(toggle(node).getAttribute('aria-checked')).toBe('false');
    expect(toggle(node).getAttribute('aria-label')).toBe('Let research.ipynb use exchange');
  });

  it('asks for the password to turn access on, and empties it before the request', async () => {
    const { model, server, passwordsAtSend } = await setUp({
      path: 'research.ipynb',
      kernelId: KERNEL
    });
    const node = await mountNode(<NotebookAccessSection model={model} trans={trans} />);
    toggle(node).click();
    const input = await waitForInput(node);
    input.value = PASSWORD;
    byTestId(node, 'wd-access-form').dispatchEvent(
      new Event('submit', { bubbles: true, cancelable: true })
    );

    await waitFor(() => toggle(node).getAttribute('aria-checked') === 'true');
    expect(server.sent.find(sent => sent.method === 'POST')!.body).toEqual({
      connection: EXCHANGE,
      password: PASSWORD
    });
    expect(passwordsAtSend).toHaveLength(1);
    expect(passwordsAtSend[0]).not.toContain(PASSWORD);
    expect(everything(node)).not.toContain(PASSWORD);
    expect(node.querySelector('[data-testid="wd-access-form"]')).toBeNull();
  });

  it('turns access off at once, without a password', async () => {
    const { model, server } = await setUp({ path: 'research.ipynb', kernelId: KERNEL });
    await model.grant(EXCHANGE, PASSWORD);
    const node = await mountNode(<NotebookAccessSection model={model} trans={trans} />);
    expect(toggle(node).getAttribute('aria-checked')).toBe('true');

    toggle(node).click();

    await waitFor(() => toggle(node).getAttribute('aria-checked') === 'false');
    expect(server.calls()).toContain(`DELETE /watchdog-lab/kernels/${KERNEL}/grants/${EXCHANGE}`);
  });
});

describe('ConnectionUsageView', () => {
  it('names the notebooks and bots that use a connection', async () => {
    const { model } = await setUp({ path: 'research.ipynb', kernelId: KERNEL });
    await model.grant(EXCHANGE, PASSWORD);
    const node = await mountNode(
      <AccessContext.Provider value={model}>
        <ConnectionUsageView connectionId={EXCHANGE} trans={trans} />
      </AccessContext.Provider>
    );
    const texts = (testId: string): string[] =>
      Array.from(node.querySelectorAll(`[data-testid="${testId}"]`)).map(e => e.textContent!);
    expect(texts('wd-conn-usage-notebook')).toEqual(['research.ipynb']);
    expect(texts('wd-conn-usage-bot')).toEqual(['momentum']);
  });

  it('shows nothing without the access model', async () => {
    const node = await mountNode(
      <div data-testid="host">
        <ConnectionUsageView connectionId={EXCHANGE} trans={trans} />
      </div>
    );
    expect(byTestId(node, 'host').childElementCount).toBe(0);
  });
});

async function waitForInput(node: HTMLElement): Promise<HTMLInputElement> {
  await waitFor(() => node.querySelector('[data-testid="wd-access-password"]') !== null);
  return byTestId<HTMLInputElement>(node, 'wd-access-password');
}
