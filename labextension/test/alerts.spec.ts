import { nullTranslator } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';

import { CrashDetector, ICrashAlert, IWatchedBot } from '../src/alerts/detector';
import { crashActions, crashMessage, watchedBots } from '../src/alerts/plugin';
import { BotState, IBotSummary } from '../src/components/bots/bots';
import { FIX_BOT, OPEN_BOT_LOGS } from '../src/logs/commands';
import { FakeServer, json } from './fakeServer';

const trans = nullTranslator.load('watchdog-lab');

function watched(
  name: string,
  state: BotState,
  extra: Partial<IBotSummary> = {},
  startedAt: number | null = 100
): IWatchedBot {
  return {
    startedAt,
    bot: {
      id: `id-${name}`,
      name,
      mode: 'continuous',
      interval: null,
      state,
      desiredState: 'running',
      connections: [],
      notebookVersion: 1,
      runs: 1,
      restarts: 0,
      nextRunAt: null,
      reason: null,
      lastError: null,
      sandbox: 'landlock (ABI 7)',
      ...extra
    }
  };
}

describe('crash detector', () => {
  it('announces nothing for crashes already there at the first answer', () => {
    const detector = new CrashDetector();
    expect(detector.update([watched('old', 'crashed', { reason: 'boom' })])).toEqual([]);
    expect(detector.update([watched('old', 'crashed', { reason: 'boom' })])).toEqual([]);
  });

  it('announces a bot that goes from running to crashed, with its reason, once', () => {
    const detector = new CrashDetector();
    detector.update([watched('b', 'running')]);
    const crashed = watched('b', 'crashed', {
      reason: 'the runner process is gone (killed or machine restarted)'
    });
    expect(detector.update([crashed])).toEqual([
      expect.objectContaining({
        name: 'b',
        reason: 'the runner process is gone (killed or machine restarted)',
        crashLoop: false
      })
    ]);
    expect(detector.update([crashed])).toEqual([]);
  });

  it('tells a crash loop from a single crash by the runner giving up', () => {
    const detector = new CrashDetector();
    detector.update([watched('b', 'starting')]);
    const [alert] = detector.update([
      watched('b', 'crashed', {
        runs: 5,
        restarts: 4,
        reason: 'crash loop: 5 failures within 300s; last: ValueError: no'
      })
    ]);
    expect(alert.crashLoop).toBe(true);
  });

  it('announces the same bot again when it crashes again after a new start', () => {
    const detector = new CrashDetector();
    detector.update([watched('b', 'crashed', { reason: 'sandbox refused' }, 100)]);
    // Started again by the user (a new runner, so a new start time), refused again.
    expect(detector.update([watched('b', 'starting', {}, 200)])).toEqual([]);
    expect(
      detector.update([watched('b', 'crashed', { reason: 'sandbox refused' }, 200)])
    ).toHaveLength(1);
  });

  it('announces a bot that appears already crashed after the first answer', () => {
    const detector = new CrashDetector();
    detector.update([]);
    expect(detector.update([watched('new', 'crashed', { lastError: 'KeyError: x' })])).toEqual([
      expect.objectContaining({ name: 'new', reason: 'KeyError: x' })
    ]);
  });

  it('does not announce a failed run the runner is about to retry', () => {
    const detector = new CrashDetector();
    detector.update([watched('b', 'running')]);
    expect(
      detector.update([watched('b', 'starting', { restarts: 1, reason: 'ValueError: no' })])
    ).toEqual([]);
  });

  it('starts from a new baseline after a reset (alerts switched off and on)', () => {
    const detector = new CrashDetector();
    detector.update([watched('b', 'running')]);
    detector.reset();
    expect(detector.update([watched('b', 'crashed')])).toEqual([]);
  });
});

describe('crash notification', () => {
  const alert: ICrashAlert = {
    id: 'id-b',
    name: 'b',
    reason: 'crash loop: 5 failures within 300s; last: cell raised ValueError',
    error: 'ValueError: no',
    crashLoop: true,
    key: 'k'
  };

  it('names the bot and the error that kept failing, within the 140 characters shown', () => {
    expect(crashMessage(alert, trans)).toBe(
      'Bot "b" is in a crash loop and was stopped: ValueError: no'
    );
    expect(crashMessage({ ...alert, error: null }, trans)).toBe(
      'Bot "b" is in a crash loop and was stopped: 5 failures within 300s; last: cell raised ValueError'
    );
    expect(crashMessage({ ...alert, crashLoop: false, reason: 'runner killed' }, trans)).toBe(
      'Bot "b" crashed: runner killed'
    );
    const long = crashMessage({ ...alert, crashLoop: false, reason: 'x'.repeat(500) }, trans);
    expect(long.length).toBe(140);
    expect(long.startsWith('Bot "b" crashed: xxx')).toBe(true);
  });

  it('offers the log, and AI Fix only when that command exists; each runs its command', async () => {
    const commands = new CommandRegistry();
    const ran: string[] = [];
    commands.addCommand(OPEN_BOT_LOGS, { execute: args => void ran.push(`logs ${args.bot}`) });
    expect(crashActions(alert, commands, trans).map(a => a.label)).toEqual(['Show logs']);

    commands.addCommand(FIX_BOT, { execute: args => void ran.push(`fix ${args.bot}`) });
    const actions = crashActions(alert, commands, trans);
    expect(actions.map(a => a.label)).toEqual(['Show logs', 'Fix with AI']);
    actions.forEach(action => action.callback(new MouseEvent('click')));
    await Promise.resolve();
    expect(ran).toEqual(['logs b', 'fix b']);
  });

  it("reads each bot's runner start time from the bot list", async () => {
    const server = new FakeServer();
    const bot = {
      id: 'id-b',
      name: 'b',
      mode: 'once',
      state: 'crashed',
      desired_state: 'running',
      notebook_version: 1,
      folder: '/x',
      status: { bot_id: 'id-b', state: 'crashed', started_at: 123.5, runs: 2, reason: 'r' }
    };
    server.routes.set('bots', () => json({ bots: [bot, { broken: true }] }));
    const bots = await watchedBots(server.client());
    expect(bots.map(w => [w.bot.name, w.startedAt, w.bot.reason])).toEqual([['b', 123.5, 'r']]);
  });
});
