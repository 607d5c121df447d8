import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { ITotpEnrolment } from '../../api';
import { takeValues, VaultPasswordField } from './VaultPasswordField';
import { VaultTotpQr } from './VaultTotpQr';
import { VaultTotpSecret } from './VaultTotpSecret';
import { useVaultAction, VaultFormError } from './useVaultAction';

export interface IVaultTotpActions {
  onBegin: (password: string) => Promise<ITotpEnrolment>;
  onConfirm: (password: string, secret: string, code: string) => Promise<void>;
  onDisable: (password: string, code: string) => Promise<void>;
}

/**
 * Two-factor authentication, folded away until asked: turn it on (password, then scan or type
 * the secret, then a code and the password again) or off (password and a code).
 *
 * The server wants the password for every one of these requests, so it is asked each time and
 * never kept between steps. The enrolment (secret and URI) lives in this component's state
 * only while its step is on screen: confirming, cancelling or folding the section drops it.
 */
export function VaultTotpSection(
  props: IVaultTotpActions & { totpEnabled: boolean; trans: TranslationBundle }
): JSX.Element {
  const { totpEnabled, onBegin, onConfirm, onDisable, trans } = props;
  const [enrolment, setEnrolment] = React.useState<ITotpEnrolment | null>(null);
  const [done, setDone] = React.useState<string | null>(null);

  // Another tab (or the CLI) may turn two-factor on meanwhile: the enrolment is then moot.
  React.useEffect(() => {
    if (totpEnabled) {
      setEnrolment(null);
    }
  }, [totpEnabled]);

  const onToggle = (event: React.SyntheticEvent<HTMLDetailsElement>): void => {
    if (!event.currentTarget.open) {
      setEnrolment(null);
      setDone(null);
    }
  };

  let body: JSX.Element;
  if (totpEnabled) {
    body = (
      <VaultTotpDisableForm
        onDisable={async (password, code) => {
          await onDisable(password, code);
          setDone(trans.__('Two-factor authentication is off.'));
        }}
        trans={trans}
      />
    );
  } else if (enrolment) {
    body = (
      <VaultTotpEnrolment
        enrolment={enrolment}
        onConfirm={async (password, code) => {
          await onConfirm(password, enrolment.secret, code);
          setEnrolment(null);
          setDone(trans.__('Two-factor authentication is on.'));
        }}
        onCancel={() => setEnrolment(null)}
        trans={trans}
      />
    );
  } else {
    body = (
      <VaultTotpBeginForm
        onBegin={async password => {
          setDone(null);
          setEnrolment(await onBegin(password));
        }}
        trans={trans}
      />
    );
  }

  return (
    <details className="wd-vault-details" data-testid="wd-vault-totp" onToggle={onToggle}>
      <summary className="wd-vault-summary">
        {trans.__('Two-factor authentication')}{' '}
        <span
          className={`wd-vault-totp-state${totpEnabled ? ' wd-vault-totp-on' : ''}`}
          data-testid="wd-vault-totp-state"
          data-enabled={totpEnabled ? 'true' : 'false'}
        >
          {totpEnabled ? trans.__('On') : trans.__('Off')}
        </span>
      </summary>
      <p className="wd-vault-done" role="status" data-testid="wd-vault-totp-done" hidden={!done}>
        {done}
      </p>
      {body}
    </details>
  );
}

/** Turn on, step one: the password, for the server to hand out a fresh secret. */
function VaultTotpBeginForm(props: {
  onBegin: (password: string) => Promise<void>;
  trans: TranslationBundle;
}): JSX.Element {
  const { onBegin, trans } = props;
  const password = React.useRef<HTMLInputElement>(null);
  const action = useVaultAction();

  const onSubmit = (event: React.FormEvent): void => {
    event.preventDefault();
    const [secret] = takeValues(password);
    if (!secret) {
      action.refuse(trans.__('Type the vault password.'));
      password.current?.focus();
      return;
    }
    void action
      .run(() => onBegin(secret))
      .then(ok => {
        if (!ok) {
          password.current?.focus();
        }
      });
  };

  return (
    <form className="wd-vault-form" data-testid="wd-vault-totp-begin-form" onSubmit={onSubmit}>
      <p className="wd-vault-hint">
        {trans.__(
          'With two-factor on, unlocking also asks for a code from an authenticator app on your phone.'
        )}
      </p>
      <VaultPasswordField
        label={trans.__('Vault password')}
        inputRef={password}
        autoComplete="current-password"
        testId="wd-vault-totp-begin-password"
      />
      <VaultFormError error={action.error} testId="wd-vault-totp-begin-error" />
      <button
        type="submit"
        className="wd-vault-button jp-mod-styled jp-mod-accept"
        data-testid="wd-vault-totp-begin-submit"
        disabled={action.busy}
      >
        {action.busy ? trans.__('Starting…') : trans.__('Turn on')}
      </button>
    </form>
  );
}

/** Turn on, step two: scan or type the secret, then prove it with a code and the password. */
function VaultTotpEnrolment(props: {
  enrolment: ITotpEnrolment;
  onConfirm: (password: string, code: string) => Promise<void>;
  onCancel: () => void;
  trans: TranslationBundle;
}): JSX.Element {
  const { enrolment, onConfirm, onCancel, trans } = props;
  const password = React.useRef<HTMLInputElement>(null);
  const code = React.useRef<HTMLInputElement>(null);
  const heading = React.useRef<HTMLHeadingElement>(null);
  const action = useVaultAction();

  // The step replaces the form the user submitted: focus its heading so keyboard and screen
  // reader users start reading it from the top.
  React.useEffect(() => {
    heading.current?.focus();
  }, []);

  const onSubmit = (event: React.FormEvent): void => {
    event.preventDefault();
    const [secret, totpCode] = takeValues(password, code);
    if (!secret || !totpCode.trim()) {
      action.refuse(trans.__('Type the vault password and the code the app shows.'));
      password.current?.focus();
      return;
    }
    void action
      .run(() => onConfirm(secret, totpCode.trim()))
      .then(ok => {
        if (!ok) {
          code.current?.focus();
        }
      });
  };

  return (
    <form
      className="wd-vault-form"
      data-testid="wd-vault-totp-enrolment"
      onSubmit={onSubmit}
      onKeyDown={event => {
        if (event.key === 'Escape') {
          event.preventDefault();
          onCancel();
        }
      }}
    >
      <h4 className="wd-vault-formTitle" ref={heading} tabIndex={-1}>
        {trans.__('Scan this code with your authenticator app')}
      </h4>
      <VaultTotpQr uri={enrolment.provisioningUri} trans={trans} />
      <VaultTotpSecret secret={enrolment.secret} trans={trans} />
      <VaultPasswordField
        label={trans.__('Code from the app')}
        inputRef={code}
        autoComplete="one-time-code"
        testId="wd-vault-totp-confirm-code"
        code
      />
      <VaultPasswordField
        label={trans.__('Vault password')}
        inputRef={password}
        autoComplete="current-password"
        testId="wd-vault-totp-confirm-password"
      />
      <VaultFormError error={action.error} testId="wd-vault-totp-confirm-error" />
      <div className="wd-vault-totp-buttons">
        <button
          type="submit"
          className="wd-vault-button jp-mod-styled jp-mod-accept"
          data-testid="wd-vault-totp-confirm-submit"
          disabled={action.busy}
        >
          {action.busy ? trans.__('Confirming…') : trans.__('Confirm')}
        </button>
        <button
          type="button"
          className="wd-vault-button jp-mod-styled"
          data-testid="wd-vault-totp-cancel"
          disabled={action.busy}
          onClick={onCancel}
        >
          {trans.__('Cancel')}
        </button>
      </div>
    </form>
  );
}

/** Turn off: the password and a current code, both required by the server. */
function VaultTotpDisableForm(props: {
  onDisable: (password: string, code: string) => Promise<void>;
  trans: TranslationBundle;
}): JSX.Element {
  const { onDisable, trans } = props;
  const password = React.useRef<HTMLInputElement>(null);
  const code = React.useRef<HTMLInputElement>(null);
  const action = useVaultAction();

  const onSubmit = (event: React.FormEvent): void => {
    event.preventDefault();
    const [secret, totpCode] = takeValues(password, code);
    if (!secret || !totpCode.trim()) {
      action.refuse(trans.__('Type the vault password and the code the app shows.'));
      password.current?.focus();
      return;
    }
    void action
      .run(() => onDisable(secret, totpCode.trim()))
      .then(ok => {
        if (!ok) {
          password.current?.focus();
        }
      });
  };

  return (
    <form className="wd-vault-form" data-testid="wd-vault-totp-disable-form" onSubmit={onSubmit}>
      <VaultPasswordField
        label={trans.__('Vault password')}
        inputRef={password}
        autoComplete="current-password"
        testId="wd-vault-totp-disable-password"
      />
      <VaultPasswordField
        label={trans.__('Two-factor code')}
        inputRef={code}
        autoComplete="one-time-code"
        testId="wd-vault-totp-disable-code"
        code
      />
      <VaultFormError error={action.error} testId="wd-vault-totp-disable-error" />
      <button
        type="submit"
        className="wd-vault-button jp-mod-styled jp-mod-reject"
        data-testid="wd-vault-totp-disable-submit"
        disabled={action.busy}
      >
        {action.busy ? trans.__('Turning off…') : trans.__('Turn off')}
      </button>
    </form>
  );
}
