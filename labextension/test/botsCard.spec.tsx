import { ServerConnection } from '@jupyterlab/services';
import { nullTranslator } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import { WatchdogApiClient } from '../src/api';
import { BotItem } from '../src/components/bots/BotItem';
import { IBotSummary } from '../src/components/bots/bots';
import { BotsSection } from '../src/components/bots/BotsSection';
import { TRANSLATION_DOMAIN } from '../src/translation';
import { sleep, waitFor } from './fakeServer';

const trans = nullTranslator.load(TRANSLATION_DOMAIN);

const BOT: IBotSummary = {
  id: '0123456789abcdef0123456789abcdef',
  name: 'looper',
  mode: 'once',
  interval: null,
  state: 'stopped',
  desiredState: 'stopped',
  connections: [],
  notebookVersion: 1,
  runs: 0,
  restarts: 0,
  nextRunAt: null,
  reason: null,
  lastError: null,
  sandbox: 'unsandboxed'
};

/** A client whose server answers every request with one reply, keeping `METHOD path`. */
function clientAnswering(sent: string[], status: number, body: unknown): WatchdogApiClient {
  const serverSettings = ServerConnection.makeSettings({
    baseUrl: 'http://127.0.0.1:8888/',
    fetch: async (input: RequestInfo | URL, init?: RequestInit) => {
      const request = new Request(input, init);
      sent.push(`${request.method} ${new URL(request.url).pathname}`);
      return body === null
        ? new Response(null, { status })
        : new Response(JSON.stringify(body), {
            status,
            headers: { 'Content-Type': 'application/json' }
          });
    }
  });
  return new WatchdogApiClient({ serverSettings });
}

async function mount(element: JSX.Element): Promise<Widget> {
  const widget = ReactWidget.create(element);
  Widget.attach(widget, document.body);
  widget.update();
  await waitFor(() => widget.node.childElementCount > 0);
  return widget;
}

function byTestId(root: HTMLElement, id: string): HTMLElement {
  const found = root.querySelector<HTMLElement>(`[data-testid="${id}"]`);
  expect(found).not.toBeNull();
  return found as HTMLElement;
}

describe('Bots card', () => {
  let widget: Widget | null = null;
  afterEach(() => {
    widget?.dispose();
    widget = null;
  });

  it('shows an unsandboxed bot in the warning style, a confined one plainly', async () => {
    widget = await mount(
      <ul>
        <BotItem api={clientAnswering([], 200, {})} bot={BOT} trans={trans} onChanged={() => 0} />
        <BotItem
          api={clientAnswering([], 200, {})}
          bot={{ ...BOT, id: 'b', name: 'confined', sandbox: 'bubblewrap' }}
          trans={trans}
          onChanged={() => 0}
        />
      </ul>
    );
    const [unsandboxed, confined] = Array.from(
      widget.node.querySelectorAll<HTMLElement>('[data-testid="wd-bots-sandbox"]')
    );
    expect(unsandboxed.classList).toContain('wd-bots-mod-unconfined');
    expect(confined.classList).not.toContain('wd-bots-mod-unconfined');
  });

  it('deletes only after the inline confirmation', async () => {
    const sent: string[] = [];
    const changed: string[] = [];
    widget = await mount(
      <BotItem
        api={clientAnswering(sent, 204, null)}
        bot={BOT}
        trans={trans}
        onChanged={message => changed.push(message)}
      />
    );
    const node = widget.node;
    byTestId(node, 'wd-bots-delete').click();
    await waitFor(() => node.querySelector('[data-testid="wd-bots-confirm-delete"]') !== null);
    expect(sent).toEqual([]);

    byTestId(node, 'wd-bots-confirm-delete').click();
    await waitFor(() => changed.length > 0);
    expect(sent).toEqual(['DELETE /watchdog-lab/bots/looper']);
    expect(changed).toEqual(['Deleted "looper".']);
  });

  it("shows the server's words when a start is refused", async () => {
    const message = 'This bot uses connections: unlock the vault to start it.';
    widget = await mount(
      <BotItem
        api={clientAnswering([], 423, { reason: 'vault_locked', message })}
        bot={{ ...BOT, connections: ['binance'] }}
        trans={trans}
        onChanged={() => 0}
      />
    );
    const node = widget.node;
    byTestId(node, 'wd-bots-start').click();
    await waitFor(() => node.querySelector('[data-testid="wd-bots-error"]') !== null);
    expect(byTestId(node, 'wd-bots-error').textContent).toBe(message);
  });

  it('says how to get a first bot when there is none', async () => {
    widget = await mount(
      <BotsSection
        api={clientAnswering([], 200, { bots: [] })}
        active={true}
        interval={60_000}
        trans={trans}
      />
    );
    const node = widget.node;
    await waitFor(() => node.querySelector('[data-testid="wd-bots-empty"]') !== null);
    expect(byTestId(node, 'wd-bots-empty').textContent).toBe('No bots yet — promote a notebook.');
  });

  it('asks for the bots on the interval only while the sidebar is visible', async () => {
    const sent: string[] = [];
    const api = clientAnswering(sent, 200, { bots: [] });
    widget = await mount(<BotsSection api={api} active={false} interval={20} trans={trans} />);
    await sleep(100);
    expect(sent).toEqual([]);

    widget.dispose();
    widget = await mount(<BotsSection api={api} active={true} interval={20} trans={trans} />);
    await waitFor(() => sent.length >= 3);
    expect(new Set(sent)).toEqual(new Set(['GET /watchdog-lab/bots']));
  });
});
