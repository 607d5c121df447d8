import { nullTranslator } from '@jupyterlab/translation';
import * as React from 'react';

import {
  ABOUT_TO_LOCK_SECONDS,
  formatCountdown,
  isAboutToLock,
  secondsLeft
} from '../src/components/vault/countdown';
import { VaultCountdown } from '../src/components/vault/VaultCountdown';
import { TRANSLATION_DOMAIN } from '../src/translation';
import { FakeServer, json, waitFor } from './fakeServer';
import { byTestId, disposeMounted, mountNode } from './render';

const trans = nullTranslator.load(TRANSLATION_DOMAIN);
const NOW = 1_700_000_000_000;

afterEach(disposeMounted);

describe('the auto-lock countdown', () => {
  it('counts whole seconds up to the deadline and never below zero', () => {
    expect(secondsLeft(NOW + 90_000, NOW)).toBe(90);
    expect(secondsLeft(NOW + 89_001, NOW)).toBe(90);
    expect(secondsLeft(NOW - 5_000, NOW)).toBe(0);
  });

  it('is written m:ss, and h:mm:ss from an hour up', () => {
    expect(formatCountdown(0)).toBe('0:00');
    expect(formatCountdown(65)).toBe('1:05');
    expect(formatCountdown(30 * 60)).toBe('30:00');
    expect(formatCountdown(3600 + 2 * 60 + 3)).toBe('1:02:03');
  });

  it('warns in the last minute only', () => {
    expect(isAboutToLock(ABOUT_TO_LOCK_SECONDS + 1)).toBe(false);
    expect(isAboutToLock(ABOUT_TO_LOCK_SECONDS)).toBe(true);
    expect(isAboutToLock(0)).toBe(true);
  });
});

describe('the vault state with its deadline', () => {
  it('turns the seconds the server reports into a deadline on the browser clock', async () => {
    const server = new FakeServer();
    server.routes.set('vault', () =>
      json({ state: 'unlocked', totp_enabled: false, locks_in_seconds: 120 })
    );
    const before = Date.now();
    const status = await server.client().vaultStatus();
    const after = Date.now();
    expect(status.locksAt).toBeGreaterThanOrEqual(before + 120_000);
    expect(status.locksAt).toBeLessThanOrEqual(after + 120_000);
  });

  it('has no deadline when the server reports none', async () => {
    const server = new FakeServer();
    server.routes.set('vault', () =>
      json({ state: 'locked', totp_enabled: false, locks_in_seconds: null })
    );
    expect(await server.client().vaultStatus()).toEqual({ state: 'locked', totpEnabled: false });
  });
});

describe('VaultCountdown', () => {
  it('shows the time left and ticks every second between polls', async () => {
    let now = NOW;
    const node = await mountNode(
      <VaultCountdown locksAt={NOW + 25 * 60_000} trans={trans} now={() => now} />
    );
    expect(byTestId(node, 'wd-vault-countdown-time').textContent).toBe('25:00');
    now += 3_000;
    await waitFor(() => byTestId(node, 'wd-vault-countdown-time').textContent === '24:57', 3000);
    expect(node.querySelector('[data-testid="wd-vault-countdown-note"]')).toBeNull();
  });

  it('warns when the vault is about to lock', async () => {
    const node = await mountNode(
      <VaultCountdown locksAt={NOW + 45_000} trans={trans} now={() => NOW} />
    );
    expect(byTestId(node, 'wd-vault-countdown-note').textContent).toContain('about to lock');
  });

  it('asks for the state once while the server still reports zero', async () => {
    const expired = jest.fn();
    /** Each expiry brings a new answer of zero seconds, as polls do until the lock. */
    function Polled(): JSX.Element {
      const [locksAt, setLocksAt] = React.useState(NOW - 1);
      return (
        <VaultCountdown
          locksAt={locksAt}
          trans={trans}
          now={() => NOW}
          onExpired={() => {
            expired();
            setLocksAt(NOW - 2);
          }}
        />
      );
    }
    const node = await mountNode(<Polled />);
    await waitFor(() => expired.mock.calls.length === 1);
    expect(byTestId(node, 'wd-vault-countdown-note').textContent).toContain('Locking');
    await new Promise(resolve => setTimeout(resolve, 1100));
    expect(expired).toHaveBeenCalledTimes(1);
  });
});
