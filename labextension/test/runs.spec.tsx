import { nullTranslator } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';
import * as React from 'react';

import { RenderMimeRegistry, standardRendererFactories } from '@jupyterlab/rendermime';
import { Widget } from '@lumino/widgets';

import { parseRuns, runCells, runLabel } from '../src/components/bots/runs';
import { RunViewer } from '../src/components/bots/runViewer';
import { RunsList } from '../src/components/bots/RunsList';
import { CommandsContext } from '../src/logs/commands';
import { OPEN_BOT_NOTEBOOK, OPEN_BOT_RUN } from '../src/promote/commands';
import { TRANSLATION_DOMAIN } from '../src/translation';
import { FakeServer, json, sleep, waitFor } from './fakeServer';
import { byTestId, disposeMounted, mountNode } from './render';

const trans = nullTranslator.load(TRANSLATION_DOMAIN);
const RUN = '20261207T011021-r00001.ipynb';

describe('a bot run history', () => {
  it('reads the runs the server lists, and refuses a name the runner never writes', () => {
    expect(parseRuns({ runs: [{ name: RUN, created_at: 1, size: 10 }] })).toEqual([
      { name: RUN, createdAt: 1, size: 10 }
    ]);
    expect(parseRuns({ runs: [{ name: '../../vault.db', created_at: 1, size: 1 }] })).toBeNull();
  });

  it('reads the run number and its UTC time from the name', () => {
    const label = runLabel(RUN)!;
    expect(label.run).toBe(1);
    expect(label.time.toISOString()).toBe('2026-12-07T01:10:21.000Z');
  });

  it('turns streams, errors and results into the mime bundles the renderers take', () => {
    const cells = runCells({
      cells: [
        {
          cell_type: 'code',
          execution_count: 3,
          source: ['print(1)\n', 'x'],
          outputs: [
            { output_type: 'stream', name: 'stdout', text: ['1\n'] },
            { output_type: 'execute_result', data: { 'text/html': ['<b>', 'x</b>'] } },
            { output_type: 'error', ename: 'E', evalue: 'v', traceback: ['line 1', 'E: v'] }
          ]
        },
        { cell_type: 'markdown', source: '# Title' }
      ]
    })!;
    expect(cells[0].source).toBe('print(1)\nx');
    expect(cells[0].executionCount).toBe(3);
    expect(cells[0].outputs.map(o => o.data)).toEqual([
      { 'application/vnd.jupyter.stdout': '1\n' },
      { 'text/html': '<b>x</b>' },
      { 'application/vnd.jupyter.stderr': 'line 1\nE: v' }
    ]);
    expect(cells[1]).toMatchObject({ cellType: 'markdown', outputs: [] });
    expect(runCells({ cells: [{ cell_type: 'script' }] })).toBeNull();
  });
});

describe('the runs of a bot in the Bots card', () => {
  afterEach(disposeMounted);

  function registry(opened: object[]): CommandRegistry {
    const commands = new CommandRegistry();
    commands.addCommand(OPEN_BOT_RUN, { execute: args => void opened.push(args) });
    commands.addCommand(OPEN_BOT_NOTEBOOK, { execute: args => void opened.push(args) });
    return commands;
  }

  it('lists runs only when asked, and opens the one chosen', async () => {
    const server = new FakeServer();
    server.routes.set('bots/my%20bot/runs', () =>
      json({ runs: [{ name: RUN, created_at: 1, size: 10 }] })
    );
    const opened: object[] = [];
    const node = await mountNode(
      <CommandsContext.Provider value={registry(opened)}>
        <RunsList api={server.client()} bot="my bot" trans={trans} />
      </CommandsContext.Provider>
    );
    expect(server.calls()).toEqual([]);
    byTestId(node, 'wd-runs-toggle').click();
    await waitFor(() => node.querySelector('[data-testid="wd-runs-open"]') !== null);
    expect(byTestId(node, 'wd-runs-toggle').getAttribute('aria-expanded')).toBe('true');
    byTestId(node, 'wd-runs-open').click();
    byTestId(node, 'wd-runs-open-notebook').click();
    await waitFor(() => opened.length === 2);
    expect(opened).toEqual([{ bot: 'my bot', run: RUN }, { bot: 'my bot' }]);
  });

  it("shows the server's message when the runs cannot be listed", async () => {
    const server = FakeServer.answering(404, {
      message: "No bot named 'gone'.",
      reason: 'bot_not_found'
    });
    const node = await mountNode(<RunsList api={server.client()} bot="gone" trans={trans} />);
    byTestId(node, 'wd-runs-toggle').click();
    await waitFor(() => node.querySelector('[data-testid="wd-runs-error"]') !== null);
    expect(byTestId(node, 'wd-runs-error').textContent).toBe("No bot named 'gone'.");
  });
});

describe('a run opened read-only', () => {
  it("renders the bot's outputs as untrusted: no script runs, no handler survives, nothing edits", async () => {
    const rendermime = new RenderMimeRegistry({ initialFactories: standardRendererFactories });
    const hostile =
      '<img src="x" onerror="window.wdPwned = 1"><b id="kept">bold</b><script>window.wdPwned = 2</script>';
    const viewer = new RunViewer({
      bot: 'b',
      run: RUN,
      rendermime,
      trans,
      notebook: {
        cells: [
          {
            cell_type: 'code',
            execution_count: 1,
            source: 'show()',
            outputs: [
              { output_type: 'display_data', data: { 'text/html': hostile, 'text/plain': 'x' } },
              {
                output_type: 'display_data',
                data: { 'application/javascript': 'window.wdPwned = 3' }
              },
              { output_type: 'stream', name: 'stdout', text: 'printed\n' }
            ]
          }
        ]
      }
    });
    Widget.attach(viewer, document.body);
    try {
      await waitFor(() => viewer.node.textContent?.includes('printed') ?? false);
      await sleep(50);
      const html = viewer.node.innerHTML;
      expect(html).toContain('bold');
      expect(html).not.toContain('onerror');
      expect(html).not.toContain('<script');
      expect((window as unknown as { wdPwned?: number }).wdPwned).toBeUndefined();
      expect(
        viewer.node.querySelectorAll('input, textarea, [contenteditable="true"]')
      ).toHaveLength(0);
      expect(viewer.node.querySelector('.wd-runs-source')?.textContent).toBe('show()');
    } finally {
      viewer.dispose();
    }
  });
});
