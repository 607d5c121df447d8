import { IVaultStatus, WatchdogApiClient } from '../src/api';
import { VaultModel } from '../src/model';
import { failure, FakeServer, json } from './fakeServer';

const BASE_URL = 'http://127.0.0.1:8888/user/ann/';
const PREFIX = '/user/ann/watchdog-lab/';
const SLOW = { interval: 60_000, backoffLimit: 60_000 };

const UNLOCKED = { state: 'unlocked', totp_enabled: false };
const LOCKED = { state: 'locked', totp_enabled: false };

describe('WatchdogApiClient vault actions', () => {
  const cases: {
    name: string;
    call: (api: WatchdogApiClient) => Promise<IVaultStatus>;
    route: string;
    body: unknown;
    answer: object;
  }[] = [
    {
      name: 'createVault posts the password to vault',
      call: api => api.createVault('pw-create-1'),
      route: 'POST vault',
      body: { password: 'pw-create-1' },
      answer: UNLOCKED
    },
    {
      name: 'unlockVault posts only the password when no code is given',
      call: api => api.unlockVault('pw-unlock-1'),
      route: 'POST vault/unlock',
      body: { password: 'pw-unlock-1' },
      answer: UNLOCKED
    },
    {
      name: 'unlockVault posts the two-factor code as totp_code',
      call: api => api.unlockVault('pw-unlock-2', '123456'),
      route: 'POST vault/unlock',
      body: { password: 'pw-unlock-2', totp_code: '123456' },
      answer: UNLOCKED
    },
    {
      name: 'lockVault posts an empty object to vault/lock',
      call: api => api.lockVault(),
      route: 'POST vault/lock',
      body: {},
      answer: LOCKED
    },
    {
      name: 'changeVaultPassword posts old_password and new_password to vault/password',
      call: api => api.changeVaultPassword('pw-old', 'pw-new-long'),
      route: 'POST vault/password',
      body: { old_password: 'pw-old', new_password: 'pw-new-long' },
      answer: UNLOCKED
    }
  ];

  it.each(cases)('$name', async ({ call, route, body, answer }) => {
    const server = new FakeServer(BASE_URL);
    server.routes.set(route, () => json(answer));

    const status = await call(server.client());

    const [method, path] = route.split(' ');
    expect(server.sent).toEqual([
      { method, path: PREFIX + path, body, contentType: 'application/json' }
    ]);
    expect(status).toEqual({
      state: (answer as { state: string }).state,
      totpEnabled: false
    });
  });

  it('reads totp_enabled from the vault state', async () => {
    const server = new FakeServer(BASE_URL);
    server.routes.set('GET vault', () => json({ state: 'locked', totp_enabled: true }));

    expect(await server.client().vaultStatus()).toEqual({ state: 'locked', totpEnabled: true });
  });

  it("shows a wrong password as the server's message, with its reason", async () => {
    const server = new FakeServer(BASE_URL);
    const message = 'Wrong password.';
    server.routes.set('POST vault/unlock', () => json({ reason: 'wrong_password', message }, 422));

    const error = await failure(server.client().unlockVault('not-it'));

    expect(error.message).toBe(message);
    expect(error.reason).toBe('wrong_password');
    expect(error.status).toBe(422);
    expect(error.message).not.toContain('422');
  });

  it("shows a throttled unlock as the server's message, which names the wait", async () => {
    const server = new FakeServer(BASE_URL);
    const message = 'Too many failed unlock attempts. Try again in 7 seconds.';
    server.routes.set(
      'POST vault/unlock',
      () =>
        new Response(JSON.stringify({ reason: 'throttled', message }), {
          status: 429,
          headers: { 'Content-Type': 'application/json', 'Retry-After': '7' }
        })
    );

    const error = await failure(server.client().unlockVault('again'));

    expect(error.message).toBe(message);
    expect(error.reason).toBe('throttled');
  });

  it("shows a weak new password as the server's message", async () => {
    const server = new FakeServer(BASE_URL);
    const message = 'Password refused: use at least 8 characters';
    server.routes.set('POST vault', () => json({ reason: 'weak_password', message }, 422));

    const error = await failure(server.client().createVault('short'));

    expect(error.message).toBe(message);
    expect(error.reason).toBe('weak_password');
  });

  it('never puts a password into a failure message, even for an unknown answer', async () => {
    const server = new FakeServer(BASE_URL);
    server.routes.set('POST vault/password', () => json({ state: 'open-sesame' }));

    const error = await failure(server.client().changeVaultPassword('secret-old', 'secret-new'));

    expect(error.message).toMatch(/does not know/);
    expect(error.message).not.toMatch(/secret-old|secret-new/);
  });
});

describe('VaultModel vault actions', () => {
  const models: VaultModel[] = [];
  afterEach(() => models.splice(0).forEach(model => model.dispose()));

  function modelFor(server: FakeServer): VaultModel {
    server.routes.set('GET sandbox', () =>
      json({ kernels: 'landlock', kernels_confined: true, bots: 'off', bots_confined: false })
    );
    const model = new VaultModel({ api: server.client(), polling: SLOW });
    models.push(model);
    return model;
  }

  function calls(server: FakeServer): string[] {
    return server.sent
      .filter(sent => !sent.path.endsWith('/sandbox'))
      .map(sent => `${sent.method} ${sent.path.slice(PREFIX.length)}`);
  }

  it('asks for the vault state right after an action, without waiting for the poll', async () => {
    const server = new FakeServer(BASE_URL);
    let state = 'locked';
    server.routes.set('GET vault', () => json({ state, totp_enabled: false }));
    server.routes.set('POST vault/unlock', () => {
      state = 'unlocked';
      return json(UNLOCKED);
    });
    const model = modelFor(server);

    await model.unlock('pw');

    expect(calls(server)).toEqual(['POST vault/unlock', 'GET vault']);
    expect(model.status).toEqual({ kind: 'ready', state: 'unlocked', totpEnabled: false });
  });

  it('asks for the state after a refused action too, and rethrows its error', async () => {
    const server = new FakeServer(BASE_URL);
    server.routes.set('GET vault', () => json({ state: 'locked', totp_enabled: true }));
    server.routes.set('POST vault/unlock', () =>
      json({ reason: 'totp_required', message: 'Type the two-factor code.' }, 422)
    );
    const model = modelFor(server);

    await expect(model.unlock('pw')).rejects.toThrow('Type the two-factor code.');

    expect(calls(server)).toEqual(['POST vault/unlock', 'GET vault']);
    expect(model.status).toEqual({ kind: 'ready', state: 'locked', totpEnabled: true });
  });

  it.each([
    ['create', (model: VaultModel) => model.create('pw-12345678'), 'POST vault'],
    ['lock', (model: VaultModel) => model.lock(), 'POST vault/lock'],
    [
      'changePassword',
      (model: VaultModel) => model.changePassword('pw-a', 'pw-b-12345'),
      'POST vault/password'
    ]
  ])('%s refreshes the state right after', async (_, act, route) => {
    const server = new FakeServer(BASE_URL);
    server.routes.set('GET vault', () => json(UNLOCKED));
    server.routes.set(route, () => json(UNLOCKED));
    const model = modelFor(server);

    await act(model);

    expect(calls(server)).toEqual([route, 'GET vault']);
  });
});
