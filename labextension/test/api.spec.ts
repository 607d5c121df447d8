import { ITranslator, nullTranslator, TranslationBundle } from '@jupyterlab/translation';

import { TRANSLATION_DOMAIN } from '../src/translation';
import { failure, FakeServer, json } from './fakeServer';

describe('WatchdogApiClient', () => {
  it('puts routes under the server base URL and the watchdog-lab namespace', async () => {
    const server = new FakeServer('http://127.0.0.1:8888/user/ann/');
    server.routes.set('vault', () => json({ state: 'locked' }));

    const status = await server.client().vaultStatus();

    expect(status).toEqual({ state: 'locked' });
    expect(server.requests).toEqual([
      { method: 'GET', url: 'http://127.0.0.1:8888/user/ann/watchdog-lab/vault' }
    ]);
  });

  it('reports a network failure as unreachable, with no HTTP status', async () => {
    const server = new FakeServer();
    server.routes.set('vault', () => 'network-error');

    const error = await failure(server.client().vaultStatus());

    expect(error.status).toBeNull();
    expect(error.unreachable).toBe(true);
    expect(error.message).toMatch(/cannot be reached/);
  });

  it('reads a bare 404 as the server extension not being enabled', async () => {
    const server = new FakeServer();

    const error = await failure(server.client().vaultStatus());

    expect(error.status).toBe(404);
    expect(error.reason).toBeNull();
    expect(error.unreachable).toBe(true);
    expect(error.message).toContain('jupyter server extension enable watchdog_lab');
  });

  it("shows the extension's own message and reason, and does not call it unreachable", async () => {
    const server = new FakeServer();
    const message = 'No connection is named "binance".';
    server.routes.set('vault', () => json({ reason: 'connection_not_found', message }, 404));

    const error = await failure(server.client().vaultStatus());

    expect(error.message).toBe(message);
    expect(error.reason).toBe('connection_not_found');
    expect(error.unreachable).toBe(false);
  });

  it('asks the user to log in again on a 403', async () => {
    const server = new FakeServer();
    server.routes.set('vault', () => json({ message: 'Forbidden' }, 403));

    const error = await failure(server.client().vaultStatus());

    expect(error.status).toBe(403);
    expect(error.message).toMatch(/Log in to JupyterLab again/);
  });

  it('names the HTTP status when a failure comes without a message', async () => {
    const server = new FakeServer();
    server.routes.set('vault', () => new Response('<html>oops</html>', { status: 502 }));

    const error = await failure(server.client().vaultStatus());

    expect(error.status).toBe(502);
    expect(error.reason).toBeNull();
    expect(error.message).toBe('The WatchDog Lab server extension failed (HTTP 502).');
  });

  it('refuses a vault state this version does not know', async () => {
    const server = new FakeServer();
    server.routes.set('vault', () => json({ state: 'sealed-forever' }));

    const error = await failure(server.client().vaultStatus());

    expect(error.status).toBe(200);
    expect(error.message).toMatch(/Reload the page after upgrading/);
  });

  it('maps the sandbox levels from the wire names', async () => {
    const server = new FakeServer();
    server.routes.set('sandbox', () =>
      json({
        kernels: 'landlock (abi 4)',
        kernels_confined: true,
        bots: 'off',
        bots_confined: false
      })
    );

    const levels = await server.client().sandboxLevels();

    expect(levels).toEqual({
      kernels: 'landlock (abi 4)',
      kernelsConfined: true,
      bots: 'off',
      botsConfined: false
    });
    expect(server.requestsTo('/watchdog-lab/sandbox')).toHaveLength(1);
  });

  it('refuses sandbox levels with a missing field', async () => {
    const server = new FakeServer();
    server.routes.set('sandbox', () => json({ kernels: 'off', bots: 'off' }));

    const error = await failure(server.client().sandboxLevels());

    expect(error.message).toMatch(/sandbox levels this version/);
  });

  it('words its own messages through the translator it is given', async () => {
    const loaded: string[] = [];
    const bundle = nullTranslator.load(TRANSLATION_DOMAIN);
    const shouting: TranslationBundle = {
      ...bundle,
      __: (text: string, ...args: unknown[]) => bundle.__(text.toUpperCase(), ...args)
    };
    const translator: ITranslator = {
      ...nullTranslator,
      load: (domain: string) => {
        loaded.push(domain);
        return shouting;
      }
    };
    const server = new FakeServer();
    server.routes.set('vault', () => 'network-error');

    const error = await failure(server.client(translator).vaultStatus());

    expect(loaded).toEqual([TRANSLATION_DOMAIN]);
    expect(error.message).toBe(
      'THE JUPYTER SERVER CANNOT BE REACHED. CHECK THAT JUPYTERLAB IS STILL RUNNING.'
    );
  });
});
