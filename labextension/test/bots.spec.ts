import { nullTranslator } from '@jupyterlab/translation';

import { botBadge, BOT_STATES, parseBot, sandboxConfined } from '../src/components/bots/bots';
import { TRANSLATION_DOMAIN } from '../src/translation';
import { failure, FakeServer } from './fakeServer';

const trans = nullTranslator.load(TRANSLATION_DOMAIN);

const DESCRIBED = {
  id: '0123456789abcdef0123456789abcdef',
  name: 'my bot',
  mode: 'every',
  interval: 60,
  parameters: {},
  desired_state: 'running',
  state: 'sleeping',
  connections: ['binance'],
  notebook_version: 3,
  folder: '/home/u/.watchdog-lab/bots/x',
  status: {
    bot_id: '0123456789abcdef0123456789abcdef',
    state: 'sleeping',
    runs: 4,
    restarts: 1,
    next_run_at: 1_800_000_000,
    reason: null,
    sandbox: 'landlock (ABI 6)',
    containment: 'pid namespace (at most 1024 tasks)',
    last_error: { ename: 'ValueError', evalue: 'bad price', traceback: [] }
  }
};

describe('bots API client', () => {
  it('lists the bots with GET bots and reads each one', async () => {
    const server = FakeServer.answering(200, { bots: [DESCRIBED] });
    const bots = await server.client().listBots();
    expect(server.sentWith('method', 'path')).toEqual([
      { method: 'GET', path: '/watchdog-lab/bots' }
    ]);
    expect(bots).toEqual([
      {
        id: DESCRIBED.id,
        name: 'my bot',
        mode: 'every',
        interval: 60,
        state: 'sleeping',
        desiredState: 'running',
        connections: ['binance'],
        notebookVersion: 3,
        runs: 4,
        restarts: 1,
        nextRunAt: 1_800_000_000,
        reason: null,
        lastError: 'ValueError: bad price',
        sandbox: 'landlock (ABI 6)'
      }
    ]);
  });

  it.each(['start', 'stop', 'restart'] as const)(
    'sends %s as a POST to the escaped bot name',
    async action => {
      const server = FakeServer.answering(200, DESCRIBED);
      const bot = await server.client().botAction('my bot', action);
      expect(server.sentWith('method', 'path')).toEqual([
        { method: 'POST', path: `/watchdog-lab/bots/my%20bot/${action}` }
      ]);
      expect(bot.name).toBe('my bot');
    }
  );

  it('deletes with DELETE on the escaped bot name', async () => {
    const server = FakeServer.answering(204, null);
    await server.client().deleteBot('a/b');
    expect(server.sentWith('method', 'path')).toEqual([
      { method: 'DELETE', path: '/watchdog-lab/bots/a%2Fb' }
    ]);
  });

  it("shows the server's message when a start is refused", async () => {
    const message = 'This bot uses connections: unlock the vault to start it.';
    const server = FakeServer.answering(423, { reason: 'vault_locked', message });
    const error = await failure(server.client().botAction('my bot', 'start'));
    expect(error.message).toBe(message);
    expect(error.status).toBe(423);
    expect(error.reason).toBe('vault_locked');
  });

  it('keeps the reason of a missing bot', async () => {
    const server = FakeServer.answering(404, { reason: 'bot_not_found', message: 'No bot "x".' });
    const error = await failure(server.client().deleteBot('x'));
    expect([error.message, error.reason, error.unreachable]).toEqual([
      'No bot "x".',
      'bot_not_found',
      false
    ]);
  });

  it('refuses a bot list this version cannot read', async () => {
    const server = FakeServer.answering(200, { bots: [{ ...DESCRIBED, state: 'dreaming' }] });
    const error = await failure(server.client().listBots());
    expect(error.status).toBe(200);
    expect(error.message).toContain('does not know');
  });
});

describe('botBadge', () => {
  const base = { nextRunAt: null, reason: null, lastError: null };
  const at = (seconds: number): string => `t=${seconds}`;

  it('words each state', () => {
    const words = BOT_STATES.map(state => botBadge({ ...base, state }, trans, at).text);
    expect(words).toEqual([
      'Starting',
      'Running',
      'Sleeping',
      'Stopped',
      'Crashed',
      'Waiting for the vault to be unlocked'
    ]);
  });

  it('says until when a sleeping bot sleeps, in local time', () => {
    expect(botBadge({ ...base, state: 'sleeping', nextRunAt: 1234 }, trans, at).text).toBe(
      'Sleeping until t=1234'
    );
  });

  it("says why a bot crashed: the runner's reason, else the last error", () => {
    const crashed = { ...base, state: 'crashed' as const, lastError: 'KeyError: x' };
    expect(botBadge(crashed, trans, at).text).toBe('Crashed: KeyError: x');
    expect(botBadge({ ...crashed, reason: 'restart limit reached' }, trans, at).text).toBe(
      'Crashed: restart limit reached'
    );
    expect(botBadge(crashed, trans, at).tone).toBe('error');
  });
});

describe('sandboxConfined', () => {
  it('confines landlock and bubblewrap only', () => {
    expect(
      ['landlock (ABI 6)', 'bubblewrap', 'unsandboxed', 'refused: no landlock'].map(sandboxConfined)
    ).toEqual([true, true, false, false]);
    expect(sandboxConfined(null)).toBeNull();
  });

  it('does not read a bot without a status', () => {
    expect(parseBot({ ...DESCRIBED, status: null })).toBeNull();
  });
});
