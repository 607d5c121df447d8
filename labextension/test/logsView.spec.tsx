import { nullTranslator } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import { BotItem } from '../src/components/bots/BotItem';
import { IBotSummary } from '../src/components/bots/bots';
import { CommandsContext, OPEN_BOT_LOGS } from '../src/logs/commands';
import { BotLogPanel } from '../src/logs/LogPanel';
import { BotLogModel } from '../src/logs/model';
import { ILogRecord } from '../src/logs/records';
import { TRANSLATION_DOMAIN } from '../src/translation';
import { FakeServer, waitFor } from './fakeServer';
import { byTestId, mount } from './render';

const trans = nullTranslator.load(TRANSLATION_DOMAIN);

const BOT: IBotSummary = {
  id: 'id-looper',
  name: 'looper',
  mode: 'continuous',
  interval: null,
  state: 'running',
  desiredState: 'running',
  connections: [],
  notebookVersion: 1,
  runs: 1,
  restarts: 0,
  nextRunAt: null,
  reason: null,
  lastError: null,
  sandbox: 'unsandboxed'
};

function records(from: number, count: number): ILogRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    seq: from + i,
    ts: 1_700_000_000,
    stream: 'stdout',
    text: `line ${from + i}`
  }));
}

describe('log view', () => {
  let widget: Widget | null = null;
  afterEach(() => {
    widget?.dispose();
    widget = null;
  });

  it("opens the bot's log from the Logs button of the Bots card", async () => {
    const commands = new CommandRegistry();
    const opened: unknown[] = [];
    commands.addCommand(OPEN_BOT_LOGS, { execute: args => void opened.push(args) });
    widget = await mount(
      <CommandsContext.Provider value={commands}>
        <ul>
          <BotItem
            api={FakeServer.answering(200, {}).client()}
            bot={BOT}
            trans={trans}
            onChanged={() => 0}
          />
        </ul>
      </CommandsContext.Provider>
    );
    const button = byTestId(widget.node, 'wd-bots-logs');
    expect(button.getAttribute('aria-label')).toBe('Show the log of looper');
    button.click();
    await waitFor(() => opened.length === 1);
    expect(opened).toEqual([{ bot: 'looper' }]);
  });

  it('shows no Logs button where no command opens logs', async () => {
    widget = await mount(
      <ul>
        <BotItem
          api={FakeServer.answering(200, {}).client()}
          bot={BOT}
          trans={trans}
          onChanged={() => 0}
        />
      </ul>
    );
    expect(widget.node.querySelector('[data-testid="wd-bots-logs"]')).toBeNull();
  });

  it('puts only the rows in sight in the document, however many lines it holds', async () => {
    const model = new BotLogModel({
      api: FakeServer.answering(200, {}).client(),
      bot: 'looper',
      trans,
      capacity: 100_000
    });
    model.append(records(1, 100_000));
    const panel = new BotLogPanel(model, trans);
    widget = panel;
    Widget.attach(panel, document.body);
    model.disconnect(); // no server here: the view is tested on what it holds
    panel.update();
    await waitFor(() => panel.node.querySelectorAll('[data-testid="wd-logs-row"]').length > 0);
    const rows = panel.node.querySelectorAll('[data-testid="wd-logs-row"]');
    expect(rows.length).toBeLessThan(200);
    // Following: the last line is among those rendered.
    expect(rows[rows.length - 1].textContent).toContain('line 100000');
    expect(byTestId(panel.node, 'wd-logs-count').textContent).toBe('100000 lines');
  });

  it('filters by text and by level from its labelled controls', async () => {
    const model = new BotLogModel({
      api: FakeServer.answering(200, {}).client(),
      bot: 'looper',
      trans,
      capacity: 1000
    });
    model.append([...records(1, 3), { seq: 4, ts: 0, stream: 'error', text: 'ValueError: boom' }]);
    const panel = new BotLogPanel(model, trans);
    widget = panel;
    Widget.attach(panel, document.body);
    model.disconnect();
    panel.update();
    await waitFor(() => panel.node.querySelector('[data-testid="wd-logs-filter"]') !== null);

    const filter = byTestId<HTMLInputElement>(panel.node, 'wd-logs-filter');
    expect(filter.getAttribute('aria-label')).toBe('Show only lines containing');
    model.filter = { ...model.filter, text: 'line 2' };
    await waitFor(() => byTestId(panel.node, 'wd-logs-count').textContent === '1 line');

    const level = byTestId<HTMLSelectElement>(panel.node, 'wd-logs-level');
    expect(panel.node.querySelector(`label[for="${level.id}"]`)?.textContent).toBe('Level');
    model.filter = { minLevel: 'error', text: '' };
    await waitFor(
      () =>
        panel.node
          .querySelector('[data-testid="wd-logs-row"]')
          ?.textContent?.includes('ValueError: boom') === true
    );
    expect(byTestId(panel.node, 'wd-logs-count').textContent).toBe('1 line');
  });

  it('stops following on Home and follows again on End, from the focusable log', async () => {
    const model = new BotLogModel({
      api: FakeServer.answering(200, {}).client(),
      bot: 'looper',
      trans,
      capacity: 1000
    });
    const panel = new BotLogPanel(model, trans);
    widget = panel;
    Widget.attach(panel, document.body);
    model.disconnect();
    panel.update();
    await waitFor(() => panel.node.querySelector('[data-testid="wd-logs-scroller"]') !== null);
    const scroller = byTestId(panel.node, 'wd-logs-scroller');
    expect(scroller.tabIndex).toBe(0);
    expect(scroller.getAttribute('aria-label')).toBe('Log of the bot looper');
    scroller.dispatchEvent(new KeyboardEvent('keydown', { key: 'Home', bubbles: true }));
    expect(model.follow).toBe(false);
    scroller.dispatchEvent(new KeyboardEvent('keydown', { key: 'End', bubbles: true }));
    expect(model.follow).toBe(true);
  });
});
