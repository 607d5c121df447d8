import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { formatCountdown, isAboutToLock, secondsLeft } from './countdown';

const TICK_MS = 1000;

export interface IVaultCountdownProps {
  /** The deadline on the browser's clock, re-set by each poll of the vault state. */
  locksAt: number;
  trans: TranslationBundle;
  /** Called once when the deadline passes, to ask the server for the state at once. */
  onExpired?: () => void;
  /** The clock; `Date.now` except in tests. */
  now?: () => number;
}

/**
 * "Locks in 12:34", ticking every second between polls, and a warning once the vault is about
 * to lock. The ticking is local: no request is made per second, and reading the vault state
 * (the poll) does not postpone the auto-lock.
 */
export function VaultCountdown(props: IVaultCountdownProps): JSX.Element {
  const { locksAt, trans, onExpired } = props;
  const now = props.now ?? Date.now;
  const [, setTick] = React.useState(0);
  React.useEffect(() => {
    const timer = window.setInterval(() => setTick(tick => tick + 1), TICK_MS);
    return () => window.clearInterval(timer);
  }, []);

  const left = secondsLeft(locksAt, now());
  const expired = React.useRef(false);
  React.useEffect(() => {
    // Once until time is left again: the server locks at its next check (seconds later), and
    // until then each answer reports zero again; asking at every answer would loop.
    if (left > 0) {
      expired.current = false;
    } else if (!expired.current) {
      expired.current = true;
      onExpired?.();
    }
  }, [left, onExpired]);

  const warn = isAboutToLock(left);
  return (
    <div
      className={`wd-access-countdown${warn ? ' wd-access-mod-warn' : ''}`}
      data-testid="wd-vault-countdown"
      data-seconds={left}
    >
      <span className="wd-access-countdownLabel">
        {trans.__('Auto-lock in')}{' '}
        <time className="wd-access-countdownTime" data-testid="wd-vault-countdown-time">
          {formatCountdown(left)}
        </time>
      </span>
      {warn && (
        <p className="wd-access-countdownNote" role="status" data-testid="wd-vault-countdown-note">
          {left === 0
            ? trans.__('Locking the vault now.')
            : trans.__(
                'The vault is about to lock. Using a connection or changing anything in the vault keeps it unlocked; checking its state does not.'
              )}
        </p>
      )}
    </div>
  );
}
