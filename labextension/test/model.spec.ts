import { WatchdogApiClient } from '../src/api';
import { DEFAULT_POLLING, IPolling, VaultModel } from '../src/model';
import { FakeServer, json, sleep, waitFor } from './fakeServer';

const VAULT = '/watchdog-lab/vault';
const SANDBOX = '/watchdog-lab/sandbox';
/** Long enough that no second tick happens during a test. */
const SLOW: IPolling = { interval: 60_000, backoffLimit: 60_000 };
/** Fast enough to see several ticks in a fraction of a second. */
const FAST: IPolling = { interval: 20, backoffLimit: 20 };

const LEVELS = { kernels: 'landlock', kernels_confined: true, bots: 'off', bots_confined: false };

/** A server with a vault in `state` (changeable) and sandbox levels. */
function serverWithVault(initial: string): { server: FakeServer; setState(s: string): void } {
  let state = initial;
  const server = new FakeServer();
  server.routes.set('vault', () => json({ state }));
  server.routes.set('sandbox', () => json(LEVELS));
  return { server, setState: s => (state = s) };
}

const models: VaultModel[] = [];

function modelFor(server: FakeServer, polling: IPolling = SLOW): VaultModel {
  const api = new WatchdogApiClient({ serverSettings: server.settings() });
  const model = new VaultModel({ api, polling });
  models.push(model);
  return model;
}

afterEach(() => {
  models.splice(0).forEach(model => model.dispose());
});

describe('VaultModel', () => {
  it('is loading until it has asked, then shows the state the server reports', async () => {
    const { server } = serverWithVault('absent');
    const model = modelFor(server);
    expect(model.status).toEqual({ kind: 'loading' });
    expect(model.sandbox).toEqual({ kind: 'loading' });

    await model.refresh();

    expect(model.status).toEqual({ kind: 'ready', state: 'absent' });
    expect(model.sandbox).toEqual({
      kind: 'ready',
      kernels: 'landlock',
      kernelsConfined: true,
      bots: 'off',
      botsConfined: false
    });
  });

  it('follows the vault through absent, locked and unlocked on refresh', async () => {
    const { server, setState } = serverWithVault('absent');
    const model = modelFor(server);
    const seen: string[] = [];
    model.changed.connect(() => {
      if (model.status.kind === 'ready') {
        seen.push(model.status.state);
      }
    });

    await model.refresh();
    setState('locked');
    await model.refresh();
    setState('unlocked');
    await model.refresh();

    expect(seen).toEqual(['absent', 'locked', 'unlocked']);
  });

  it('emits changed only when something changed', async () => {
    const { server } = serverWithVault('locked');
    const model = modelFor(server);
    await model.refresh();
    let changes = 0;
    model.changed.connect(() => changes++);

    await model.refresh();
    await model.refresh();

    expect(changes).toBe(0);
    expect(server.requestsTo(VAULT).length).toBeGreaterThanOrEqual(3);
  });

  it('shows an unreachable server, then the state again once it answers', async () => {
    const { server } = serverWithVault('locked');
    const vault = server.routes.get('vault')!;
    server.routes.set('vault', () => 'network-error');
    const model = modelFor(server);

    await model.refresh();
    expect(model.status).toMatchObject({ kind: 'error', unreachable: true });

    server.routes.set('vault', vault);
    await model.refresh();
    expect(model.status).toEqual({ kind: 'ready', state: 'locked' });
  });

  it("shows the extension's refusal as an error that is not unreachable", async () => {
    const { server } = serverWithVault('locked');
    server.routes.set('vault', () => json({ reason: 'vault_corrupt', message: 'Broken.' }, 500));
    const model = modelFor(server);

    await model.refresh();

    expect(model.status).toEqual({ kind: 'error', message: 'Broken.', unreachable: false });
  });

  it('does not ask the server while inactive', async () => {
    const { server } = serverWithVault('locked');
    modelFor(server, FAST);

    await sleep(200);

    expect(server.requests).toEqual([]);
  });

  it('polls the vault state while active and stops when inactive', async () => {
    const { server } = serverWithVault('locked');
    const model = modelFor(server, FAST);

    model.active = true;
    await waitFor(() => server.requestsTo(VAULT).length >= 4);
    model.active = false;
    await sleep(60); // a tick already scheduled may still run
    const asked = server.requestsTo(VAULT).length;
    await sleep(200);

    expect(server.requestsTo(VAULT).length).toBe(asked);
  });

  it('asks for the sandbox levels on activation and refresh, never on the poll', async () => {
    const { server } = serverWithVault('locked');
    const model = modelFor(server, FAST);

    model.active = true;
    await waitFor(() => server.requestsTo(VAULT).length >= 4);
    expect(server.requestsTo(SANDBOX)).toHaveLength(1);

    await model.refresh();
    expect(server.requestsTo(SANDBOX)).toHaveLength(2);
  });

  it('applies a new polling interval at once, without reopening the sidebar', async () => {
    const { server } = serverWithVault('locked');
    const model = modelFor(server, SLOW);
    model.active = true;
    await waitFor(() => model.status.kind === 'ready');
    await sleep(100);
    expect(server.requestsTo(VAULT)).toHaveLength(1);

    model.polling = FAST;

    expect(model.polling).toEqual(FAST);
    await waitFor(() => server.requestsTo(VAULT).length >= 4);
  });

  it('keeps the backoff limit at least the interval', () => {
    const { server } = serverWithVault('locked');
    const model = modelFor(server);

    model.polling = { interval: 10_000, backoffLimit: 2_000 };

    expect(model.polling).toEqual({ interval: 10_000, backoffLimit: 10_000 });
  });

  it('starts with the default polling', () => {
    const { server } = serverWithVault('locked');
    const api = new WatchdogApiClient({ serverSettings: server.settings() });
    const model = new VaultModel({ api });
    models.push(model);

    expect(model.polling).toEqual(DEFAULT_POLLING);
  });

  it('stops polling once disposed', async () => {
    const { server } = serverWithVault('locked');
    const model = modelFor(server, FAST);
    model.active = true;
    await waitFor(() => server.requestsTo(VAULT).length >= 2);

    model.dispose();
    await sleep(60);
    const asked = server.requests.length;
    await sleep(200);

    expect(model.isDisposed).toBe(true);
    expect(server.requests.length).toBe(asked);
  });
});
