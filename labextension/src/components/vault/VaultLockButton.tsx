import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { useVaultAction, VaultFormError } from './useVaultAction';

/** Lock now: connections become unreachable to notebooks and bots until the next unlock. */
export function VaultLockButton(props: {
  onLock: () => Promise<void>;
  trans: TranslationBundle;
}): JSX.Element {
  const { onLock, trans } = props;
  const action = useVaultAction();
  return (
    <div className="wd-vault-lock">
      <button
        type="button"
        className="wd-vault-button jp-mod-styled jp-mod-reject"
        data-testid="wd-vault-lock"
        disabled={action.busy}
        onClick={() => void action.run(onLock)}
      >
        {action.busy ? trans.__('Locking…') : trans.__('Lock now')}
      </button>
      <VaultFormError error={action.error} testId="wd-vault-lock-error" />
    </div>
  );
}
