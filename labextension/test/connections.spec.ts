import { formFields, IKindDescription, kindToSend, parseKind } from '../src/connections';
import { failure, FakeServer } from './fakeServer';

const MASKED = {
  id: '0123456789abcdef0123456789abcdef',
  name: 'binance',
  kind: 'ccxt:binance',
  fields: { apiKey: 'ab…yz', secret: '***' },
  created_at: 1,
  updated_at: 1,
  status: 'ok',
  error: null
};

const KALSHI_WIRE = {
  kind: 'kalshi',
  description: 'Kalshi',
  open: false,
  family: false,
  fields: [
    { name: 'api_key_id', visibility: 'hint', required: true, choices: [], default: null },
    {
      name: 'private_key_pem',
      visibility: 'secret',
      required: true,
      choices: [],
      default: null,
      description: 'the key',
      from_file: true
    },
    {
      name: 'environment',
      visibility: 'public',
      required: true,
      choices: ['demo', 'prod'],
      default: 'prod'
    },
    { name: 'label', visibility: 'public', required: false, choices: [], default: 'main' }
  ]
};

const CCXT_WIRE = {
  kind: 'ccxt:<exchange id>',
  description: 'any exchange ccxt supports',
  open: false,
  family: true,
  fields: [{ name: 'secret', visibility: 'secret', required: false }]
};

function kindOf(wire: unknown): IKindDescription {
  const kind = parseKind(wire);
  expect(kind).not.toBeNull();
  return kind as IKindDescription;
}

describe('connections API', () => {
  it('creates a connection with POST connections and its name, kind and fields', async () => {
    const server = FakeServer.answering(201, MASKED);

    const created = await server
      .client()
      .createConnection('binance', 'ccxt:binance', { secret: 's3' });

    expect(server.sentWith('method', 'path', 'body')).toEqual([
      {
        method: 'POST',
        path: '/watchdog-lab/connections',
        body: { name: 'binance', kind: 'ccxt:binance', fields: { secret: 's3' } }
      }
    ]);
    expect(created).toEqual({
      id: MASKED.id,
      name: 'binance',
      kind: 'ccxt:binance',
      fields: { apiKey: 'ab…yz', secret: '***' },
      status: 'ok',
      error: null
    });
  });

  it("shows the server's message for a duplicate name, with its reason", async () => {
    const message = 'A connection named "binance" already exists.';
    const server = FakeServer.answering(409, { reason: 'duplicate_connection', message });

    const error = await failure(server.client().createConnection('binance', 'generic', { a: 'b' }));

    expect(error.message).toBe(message);
    expect(error.reason).toBe('duplicate_connection');
    expect(error.status).toBe(409);
  });

  it('lists connections, a corrupted record included with its reason', async () => {
    const corrupted = {
      id: 'f'.repeat(32),
      name: null,
      kind: null,
      fields: {},
      status: 'corrupted',
      error: 'does not decrypt'
    };
    const server = FakeServer.answering(200, { connections: [MASKED, corrupted] });

    const listed = await server.client().listConnections();

    expect(server.sent[0]).toMatchObject({ method: 'GET', path: '/watchdog-lab/connections' });
    expect(listed.map(c => [c.name, c.status, c.error])).toEqual([
      ['binance', 'ok', null],
      [null, 'corrupted', 'does not decrypt']
    ]);
  });

  it('refuses a listing it cannot read instead of showing half of it', async () => {
    const server = FakeServer.answering(200, { connections: [{ ...MASKED, fields: { a: 1 } }] });

    const error = await failure(server.client().listConnections());

    expect(error.message).toMatch(/Reload the page after upgrading/);
  });

  it('renames with POST connections/{name}/rename, the name URL-encoded, no password', async () => {
    const server = FakeServer.answering(200, { ...MASKED, name: 'main' });

    await server.client().renameConnection('my key/1', 'main');

    expect(server.sentWith('method', 'path', 'body')).toEqual([
      {
        method: 'POST',
        path: '/watchdog-lab/connections/my%20key%2F1/rename',
        body: { new_name: 'main' }
      }
    ]);
  });

  it('removes with DELETE connections/{name} and the password in the body', async () => {
    const server = FakeServer.answering(204, null);

    await server.client().deleteConnection('binance', 'pw-123456');

    expect(server.sentWith('method', 'path', 'body')).toEqual([
      {
        method: 'DELETE',
        path: '/watchdog-lab/connections/binance',
        body: { password: 'pw-123456' }
      }
    ]);
  });

  it('removes an unreadable record by its id', async () => {
    const server = FakeServer.answering(204, null);

    await server.client().deleteConnectionById('f'.repeat(32), 'pw-123456');

    expect(server.sent[0]).toMatchObject({
      method: 'DELETE',
      path: `/watchdog-lab/connections/by-id/${'f'.repeat(32)}`,
      body: { password: 'pw-123456' }
    });
  });

  it("shows a wrong password as the server's message, not as a status", async () => {
    const message = 'The vault password is wrong.';
    const server = FakeServer.answering(422, { reason: 'wrong_password', message });

    const error = await failure(server.client().deleteConnection('binance', 'nope'));

    expect(error.message).toBe(message);
    expect(error.message).not.toMatch(/422/);
  });

  it('reads the kinds registry from GET kinds', async () => {
    const server = FakeServer.answering(200, { kinds: [KALSHI_WIRE, CCXT_WIRE] });

    const kinds = await server.client().listKinds();

    expect(server.sent[0]).toMatchObject({ method: 'GET', path: '/watchdog-lab/kinds' });
    expect(kinds.map(k => [k.kind, k.family])).toEqual([
      ['kalshi', false],
      ['ccxt:<exchange id>', true]
    ]);
    expect(kinds[0].fields[1].fromFile).toBe(true);
  });

  it('refuses a kind with a visibility it does not know', async () => {
    const odd = { ...CCXT_WIRE, fields: [{ name: 'x', visibility: 'shown', required: true }] };
    const server = FakeServer.answering(200, { kinds: [odd] });

    const error = await failure(server.client().listKinds());

    expect(error.message).toMatch(/connection kinds this version/);
  });
});

describe('the add form built from a kind', () => {
  it('gives a secret field a password input that starts empty', () => {
    const fields = formFields(kindOf(CCXT_WIRE));

    expect(fields).toEqual([
      expect.objectContaining({ name: 'secret', input: 'password', secret: true, initial: '' })
    ]);
  });

  it('treats a hint field as a secret too: it is a credential, only its mask is shown', () => {
    const hint = formFields(kindOf(KALSHI_WIRE)).find(f => f.name === 'api_key_id');

    expect(hint).toMatchObject({ input: 'password', secret: true, required: true });
  });

  it('gives a value read from a file the masked key area', () => {
    const pem = formFields(kindOf(KALSHI_WIRE)).find(f => f.name === 'private_key_pem');

    expect(pem).toMatchObject({ input: 'pem', secret: true, description: 'the key' });
  });

  it('gives choices a select starting on the default', () => {
    const environment = formFields(kindOf(KALSHI_WIRE)).find(f => f.name === 'environment');

    expect(environment).toMatchObject({
      input: 'select',
      choices: ['demo', 'prod'],
      initial: 'prod',
      secret: false
    });
  });

  it('starts a select without a default on its first choice', () => {
    const wire = {
      ...KALSHI_WIRE,
      fields: [{ name: 'env', visibility: 'public', required: true, choices: ['a', 'b'] }]
    };

    expect(formFields(kindOf(wire))[0].initial).toBe('a');
  });

  it('gives a public field a plain text input with its default', () => {
    const label = formFields(kindOf(KALSHI_WIRE)).find(f => f.name === 'label');

    expect(label).toMatchObject({ input: 'text', initial: 'main', secret: false, required: false });
  });

  it("sends a family's kind as its prefix and the typed variant", () => {
    const ccxt = kindOf(CCXT_WIRE);

    expect(kindToSend(ccxt, ' kraken ')).toBe('ccxt:kraken');
    expect(kindToSend(kindOf(KALSHI_WIRE), 'ignored')).toBe('kalshi');
  });
});
