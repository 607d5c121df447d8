import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { VaultModel, VaultStatus } from '../../model';
import { VaultCreateForm } from './VaultCreateForm';
import { VaultLockButton } from './VaultLockButton';
import { VaultPasswordChangeForm } from './VaultPasswordChangeForm';
import { VaultTotpSection } from './VaultTotpSection';
import { VaultUnlockForm } from './VaultUnlockForm';

/**
 * The vault's actions for its current state: create when absent, unlock when locked, lock,
 * change the password or turn two-factor on or off when unlocked. Each form calls the shared
 * model, which asks the server for the new state right after, so the card changes without
 * waiting for the poll.
 *
 * The server does not say when the auto-lock will fire, so no countdown is shown.
 */
export function VaultSection(props: {
  status: VaultStatus;
  model: VaultModel;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { status, model, trans } = props;
  if (status.kind !== 'ready') {
    return null;
  }
  switch (status.state) {
    case 'absent':
      return (
        <div className="wd-vault-actions" data-testid="wd-vault-actions">
          <VaultCreateForm onCreate={password => model.create(password)} trans={trans} />
        </div>
      );
    case 'locked':
      return (
        <div className="wd-vault-actions" data-testid="wd-vault-actions">
          <VaultUnlockForm
            totpEnabled={status.totpEnabled === true}
            onUnlock={(password, code) => model.unlock(password, code)}
            trans={trans}
          />
        </div>
      );
    case 'unlocked':
      return (
        <div className="wd-vault-actions" data-testid="wd-vault-actions">
          <VaultLockButton onLock={() => model.lock()} trans={trans} />
          <VaultPasswordChangeForm
            onChange={(oldPassword, newPassword) => model.changePassword(oldPassword, newPassword)}
            trans={trans}
          />
          <VaultTotpSection
            totpEnabled={status.totpEnabled === true}
            onBegin={password => model.beginTotp(password)}
            onConfirm={(password, secret, code) => model.confirmTotp(password, secret, code)}
            onDisable={(password, code) => model.disableTotp(password, code)}
            trans={trans}
          />
        </div>
      );
  }
}
