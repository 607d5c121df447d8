import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { CommandsContext } from '../../logs/commands';
import { VaultModel, VaultStatus } from '../../model';
import { OPEN_AUDIT_COMMAND } from '../audit/command';
import { VaultCountdown } from './VaultCountdown';
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
 * While unlocked, the card counts down to the auto-lock from the deadline the last poll gave,
 * and offers the audit trail (when the application's commands include the audit view).
 */
export function VaultSection(props: {
  status: VaultStatus;
  model: VaultModel;
  trans: TranslationBundle;
}): JSX.Element | null {
  const { status, model, trans } = props;
  const refresh = React.useCallback(() => void model.refresh(), [model]);
  const commands = React.useContext(CommandsContext);
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
          {status.locksAt !== undefined && (
            <VaultCountdown locksAt={status.locksAt} trans={trans} onExpired={refresh} />
          )}
          <VaultLockButton onLock={() => model.lock()} trans={trans} />
          {commands?.hasCommand(OPEN_AUDIT_COMMAND) && (
            <button
              type="button"
              className="jp-mod-styled wd-access-auditButton"
              data-testid="wd-open-audit"
              onClick={() => void commands.execute(OPEN_AUDIT_COMMAND)}
            >
              {trans.__('Open the audit log')}
            </button>
          )}
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
