import { nullTranslator } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import { BotItem } from '../src/components/bots/BotItem';
import { IBotSummary } from '../src/components/bots/bots';
import { BotsSection } from '../src/components/bots/BotsSection';
import { TRANSLATION_DOMAIN } from '../src/translation';
import { FakeServer, sleep, waitFor } from './fakeServer';
import { byTestId, mount } from './render';

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

describe('Bots card', () => {
  let widget: Widget | null = null;
  afterEach(() => {
    widget?.dispose();
    widget = null;
  });

  it('shows an unsandboxed bot in the warning style, a confined one plainly', async () => {
    widget = await mount(
      <ul>
        <BotItem
          api={FakeServer.answering(200, {}).client()}
          bot={BOT}
          trans={trans}
          onChanged={() => 0}
        />
        <BotItem
          api={FakeServer.answering(200, {}).client()}
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
    const server = FakeServer.answering(204, null);
    const changed: string[] = [];
    widget = await mount(
      <BotItem
        api={server.client()}
        bot={BOT}
        trans={trans}
        onChanged={message => changed.push(message)}
      />
    );
    const node = widget.node;
    byTestId(node, 'wd-bots-delete').click();
    await waitFor(() => node.querySelector('[data-testid="wd-bots-confirm-delete"]') !== null);
    expect(server.calls()).toEqual([]);

    byTestId(node, 'wd-bots-confirm-delete').click();
    await waitFor(() => changed.length > 0);
    expect(server.calls()).toEqual(['DELETE /watchdog-lab/bots/looper']);
    expect(changed).toEqual(['Deleted "looper".']);
  });

  it("shows the server's words when a start is refused", async () => {
    const message = 'This bot uses connections: unlock the vault to start it.';
    widget = await mount(
      <BotItem
        api={FakeServer.answering(423, { reason: 'vault_locked', message }).client()}
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
        api={FakeServer.answering(200, { bots: [] }).client()}
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
    const server = FakeServer.answering(200, { bots: [] });
    const api = server.client();
    widget = await mount(<BotsSection api={api} active={false} interval={20} trans={trans} />);
    await sleep(100);
    expect(server.calls()).toEqual([]);

    widget.dispose();
    widget = await mount(<BotsSection api={api} active={true} interval={20} trans={trans} />);
    await waitFor(() => server.sent.length >= 3);
    expect(new Set(server.calls())).toEqual(new Set(['GET /watchdog-lab/bots']));
  });
});
