import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { takeValues, VaultPasswordField } from './VaultPasswordField';
import { useVaultAction, VaultFormError } from './useVaultAction';

/** Unlock: the password, and the current two-factor code when the server says it is on. */
export function VaultUnlockForm(props: {
  totpEnabled: boolean;
  onUnlock: (password: string, totpCode?: string) => Promise<void>;
  trans: TranslationBundle;
}): JSX.Element {
  const { totpEnabled, onUnlock, trans } = props;
  const password = React.useRef<HTMLInputElement>(null);
  const code = React.useRef<HTMLInputElement>(null);
  const action = useVaultAction();

  const onSubmit = (event: React.FormEvent): void => {
    event.preventDefault();
    const [secret, totpCode] = takeValues(password, code);
    if (!secret) {
      action.refuse(trans.__('Type the vault password.'));
      password.current?.focus();
      return;
    }
    void action
      .run(() => onUnlock(secret, totpEnabled ? totpCode.trim() : undefined))
      .then(done => {
        if (!done) {
          password.current?.focus();
        }
      });
  };

  return (
    <form className="wd-vault-form" data-testid="wd-vault-unlock-form" onSubmit={onSubmit}>
      <VaultPasswordField
        label={trans.__('Vault password')}
        inputRef={password}
        autoComplete="current-password"
        testId="wd-vault-unlock-password"
      />
      {totpEnabled && (
        <VaultPasswordField
          label={trans.__('Two-factor code')}
          inputRef={code}
          autoComplete="one-time-code"
          testId="wd-vault-unlock-code"
          code
        />
      )}
      <VaultFormError error={action.error} testId="wd-vault-unlock-error" />
      <button
        type="submit"
        className="wd-vault-button jp-mod-styled jp-mod-accept"
        data-testid="wd-vault-unlock-submit"
        disabled={action.busy}
      >
        {action.busy ? trans.__('Unlocking…') : trans.__('Unlock')}
      </button>
    </form>
  );
}
