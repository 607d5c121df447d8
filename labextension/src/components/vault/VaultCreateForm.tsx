import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { passwordStrength } from './strength';
import { takeValues, VaultPasswordField } from './VaultPasswordField';
import { VaultStrengthMeter } from './VaultStrengthMeter';
import { useVaultAction, VaultFormError } from './useVaultAction';

/** Create the vault: the password twice, with a strength meter. */
export function VaultCreateForm(props: {
  onCreate: (password: string) => Promise<void>;
  trans: TranslationBundle;
}): JSX.Element {
  const { onCreate, trans } = props;
  const password = React.useRef<HTMLInputElement>(null);
  const confirm = React.useRef<HTMLInputElement>(null);
  const [strength, setStrength] = React.useState(passwordStrength(''));
  const action = useVaultAction();

  const onSubmit = (event: React.FormEvent): void => {
    event.preventDefault();
    const [first, second] = takeValues(password, confirm);
    setStrength(passwordStrength(''));
    if (!first) {
      action.refuse(trans.__('Type a password for the new vault.'));
    } else if (first !== second) {
      action.refuse(trans.__('The two passwords differ. Type the same password twice.'));
    } else {
      void action.run(() => onCreate(first));
      return;
    }
    password.current?.focus();
  };

  return (
    <form className="wd-vault-form" data-testid="wd-vault-create-form" onSubmit={onSubmit}>
      <h4 className="wd-vault-formTitle">{trans.__('Create the vault')}</h4>
      <VaultPasswordField
        label={trans.__('New vault password')}
        inputRef={password}
        autoComplete="new-password"
        testId="wd-vault-create-password"
        onValue={value => setStrength(passwordStrength(value))}
      />
      <VaultStrengthMeter strength={strength} trans={trans} />
      <VaultPasswordField
        label={trans.__('Repeat the password')}
        inputRef={confirm}
        autoComplete="new-password"
        testId="wd-vault-create-confirm"
      />
      <VaultFormError error={action.error} testId="wd-vault-create-error" />
      <button
        type="submit"
        className="wd-vault-button jp-mod-styled jp-mod-accept"
        data-testid="wd-vault-create-submit"
        disabled={action.busy}
      >
        {action.busy ? trans.__('Creating…') : trans.__('Create vault')}
      </button>
    </form>
  );
}
