import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { passwordStrength } from './strength';
import { takeValues, VaultPasswordField } from './VaultPasswordField';
import { VaultStrengthMeter } from './VaultStrengthMeter';
import { useVaultAction, VaultFormError } from './useVaultAction';

/** Change the password: the current one, then the new one twice. Folded away until asked. */
export function VaultPasswordChangeForm(props: {
  onChange: (oldPassword: string, newPassword: string) => Promise<void>;
  trans: TranslationBundle;
}): JSX.Element {
  const { onChange, trans } = props;
  const current = React.useRef<HTMLInputElement>(null);
  const next = React.useRef<HTMLInputElement>(null);
  const confirm = React.useRef<HTMLInputElement>(null);
  const [strength, setStrength] = React.useState(passwordStrength(''));
  const [done, setDone] = React.useState(false);
  const action = useVaultAction();

  const onSubmit = (event: React.FormEvent): void => {
    event.preventDefault();
    const [oldPassword, newPassword, repeated] = takeValues(current, next, confirm);
    setStrength(passwordStrength(''));
    setDone(false);
    if (!oldPassword || !newPassword) {
      action.refuse(trans.__('Type the current password and a new one.'));
    } else if (newPassword !== repeated) {
      action.refuse(trans.__('The two new passwords differ. Type the same password twice.'));
    } else {
      void action.run(() => onChange(oldPassword, newPassword)).then(setDone);
      return;
    }
    current.current?.focus();
  };

  return (
    <details className="wd-vault-details" data-testid="wd-vault-password-details">
      <summary className="wd-vault-summary">{trans.__('Change the password')}</summary>
      <form className="wd-vault-form" data-testid="wd-vault-password-form" onSubmit={onSubmit}>
        <VaultPasswordField
          label={trans.__('Current password')}
          inputRef={current}
          autoComplete="current-password"
          testId="wd-vault-password-current"
        />
        <VaultPasswordField
          label={trans.__('New password')}
          inputRef={next}
          autoComplete="new-password"
          testId="wd-vault-password-new"
          onValue={value => setStrength(passwordStrength(value))}
        />
        <VaultStrengthMeter strength={strength} trans={trans} />
        <VaultPasswordField
          label={trans.__('Repeat the new password')}
          inputRef={confirm}
          autoComplete="new-password"
          testId="wd-vault-password-confirm"
        />
        <VaultFormError error={action.error} testId="wd-vault-password-error" />
        <p
          className="wd-vault-done"
          role="status"
          data-testid="wd-vault-password-done"
          hidden={!done}
        >
          {trans.__('The password is changed.')}
        </p>
        <button
          type="submit"
          className="wd-vault-button jp-mod-styled jp-mod-accept"
          data-testid="wd-vault-password-submit"
          disabled={action.busy}
        >
          {action.busy ? trans.__('Changing…') : trans.__('Change password')}
        </button>
      </form>
    </details>
  );
}
