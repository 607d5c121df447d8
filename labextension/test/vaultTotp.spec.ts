import { WatchdogApiClient } from '../src/api';
import { secretGroups } from '../src/components/vault/VaultTotpSecret';
import { failure, FakeServer, json } from './fakeServer';

const BASE_URL = 'http://127.0.0.1:8888/user/ann/';
const PREFIX = '/user/ann/watchdog-lab/';
const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const URI = `otpauth://totp/WatchDog%20Lab:vault?secret=${SECRET}&issuer=WatchDog%20Lab`;

/** A Jupyter server that answers one route, e.g. `POST vault/totp`, and 404 elsewhere. */
function serving(route: string, answer: () => Response): FakeServer {
  const server = new FakeServer(BASE_URL);
  server.routes.set(route, answer);
  return server;
}

describe('WatchdogApiClient two-factor', () => {
  it('beginTotp posts the password to vault/totp and names the enrolment in camel case', async () => {
    const server = serving('POST vault/totp', () =>
      json({ secret: SECRET, provisioning_uri: URI })
    );

    const enrolment = await server.client().beginTotp('pw-begin-1');

    expect(server.sent).toEqual([
      {
        method: 'POST',
        path: PREFIX + 'vault/totp',
        body: { password: 'pw-begin-1' },
        contentType: 'application/json'
      }
    ]);
    expect(enrolment).toEqual({ secret: SECRET, provisioningUri: URI });
  });

  it('confirmTotp posts the password, the secret and the code to vault/totp/confirm', async () => {
    const server = serving('POST vault/totp/confirm', () =>
      json({ state: 'unlocked', totp_enabled: true })
    );

    const status = await server.client().confirmTotp('pw-confirm-1', SECRET, '123456');

    expect(server.sent).toEqual([
      {
        method: 'POST',
        path: PREFIX + 'vault/totp/confirm',
        body: { password: 'pw-confirm-1', secret: SECRET, code: '123456' },
        contentType: 'application/json'
      }
    ]);
    expect(status).toEqual({ state: 'unlocked', totpEnabled: true });
  });

  it('disableTotp sends DELETE to vault/totp with the password and the code', async () => {
    const server = serving('DELETE vault/totp', () =>
      json({ state: 'unlocked', totp_enabled: false })
    );

    const status = await server.client().disableTotp('pw-disable-1', '654321');

    expect(server.sent).toEqual([
      {
        method: 'DELETE',
        path: PREFIX + 'vault/totp',
        body: { password: 'pw-disable-1', code: '654321' },
        contentType: 'application/json'
      }
    ]);
    expect(status).toEqual({ state: 'unlocked', totpEnabled: false });
  });

  it.each([
    ['POST vault/totp', (api: WatchdogApiClient) => api.beginTotp('not-it')],
    ['POST vault/totp/confirm', (api: WatchdogApiClient) => api.confirmTotp('x', SECRET, '1')],
    ['DELETE vault/totp', (api: WatchdogApiClient) => api.disableTotp('x', '1')]
  ])("%s shows a refusal as the server's message, with its reason", async (route, call) => {
    const message = 'That two-factor code is not valid. Type the current code from your app.';
    const server = serving(route, () => json({ reason: 'invalid_totp_code', message }, 422));

    const error = await failure(call(server.client()));

    expect(error.message).toBe(message);
    expect(error.reason).toBe('invalid_totp_code');
    expect(error.status).toBe(422);
  });

  it('refuses an enrolment answer without an otpauth URI, without echoing the secret', async () => {
    const server = serving('POST vault/totp', () =>
      json({ secret: SECRET, provisioning_uri: 'https://example.invalid/' })
    );

    const error = await failure(server.client().beginTotp('pw-begin-2'));

    expect(error.message).toContain('Reload the page');
    expect(error.message).not.toContain(SECRET);
  });
});

describe('secretGroups', () => {
  it('cuts the secret into groups of four for typing', () => {
    expect(secretGroups('JBSWY3DPEHPK3PXP')).toEqual(['JBSW', 'Y3DP', 'EHPK', '3PXP']);
  });

  it('keeps a shorter last group', () => {
    expect(secretGroups('ABCDEFGHIJ')).toEqual(['ABCD', 'EFGH', 'IJ']);
  });

  it('drops spaces and base32 padding and upper-cases, as authenticators read it', () => {
    expect(secretGroups(' jbsw y3dp==\n')).toEqual(['JBSW', 'Y3DP']);
  });

  it('gives no group for an empty secret', () => {
    expect(secretGroups('')).toEqual([]);
  });
});
