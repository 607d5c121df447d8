import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { WatchdogApiClient } from '../../api';
import { errorMessage } from '../../connections';
import { takeValues, VaultPasswordField } from '../vault/VaultPasswordField';
import { IBackupEntry, IRestoreResult } from './backups';

export interface IRestoreFormProps {
  api: WatchdogApiClient;
  backup: IBackupEntry;
  /** The snapshot's time as the card shows it, to name it in the form. */
  when: string;
  trans: TranslationBundle;
  onRestored: (result: IRestoreResult) => void;
  onCancel: () => void;
}

/**
 * Confirm a restore with the vault password, after saying what it does.
 *
 * A restore can bring back a connection or a grant the user removed since, so the server wants
 * the password, not the Jupyter token (kernel code can read that). The input is the vault's own
 * uncontrolled password field: its value is taken and emptied in one step before the request
 * leaves, and never enters React state.
 */
export function RestoreForm(props: IRestoreFormProps): JSX.Element {
  const { api, backup, when, trans, onRestored, onCancel } = props;
  const password = React.useRef<HTMLInputElement>(null);
  const explanationId = React.useId();
  const [busy, setBusy] = React.useState(false);
  const [error, setError] = React.useState<string | null>(null);

  React.useEffect(() => {
    password.current?.focus();
  }, []);

  const submit = async (event: React.FormEvent): Promise<void> => {
    event.preventDefault();
    const [secret] = takeValues(password);
    if (!secret) {
      setError(trans.__('Type the vault password to restore this backup.'));
      password.current?.focus();
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const result = await api.restoreBackup(backup.id, secret);
      onRestored(result);
    } catch (failure) {
      setError(errorMessage(failure));
      setBusy(false);
      password.current?.focus();
    }
  };

  const cancel = (): void => {
    takeValues(password);
    onCancel();
  };

  return (
    <form
      className="wd-backup-restoreForm"
      data-testid="wd-backup-restore-form"
      aria-label={trans.__('Restore the backup of %1', when)}
      aria-describedby={explanationId}
      autoComplete="off"
      onSubmit={event => void submit(event)}
      onKeyDown={event => {
        if (event.key === 'Escape' && !busy) {
          cancel();
        }
      }}
    >
      <div id={explanationId} className="wd-backup-explanation">
        <p>
          {trans.__(
            "Puts the vault's connections, grants and bots back as they were at %1; later changes are replaced.",
            when
          )}
        </p>
        <p>
          {trans.__('A backup of the current state is taken first, so this restore can be undone.')}
        </p>
        <p>
          {trans.__(
            'Running bots must be stopped first. Afterwards the vault is locked: it opens with the password it had then.'
          )}
        </p>
      </div>
      <VaultPasswordField
        label={trans.__('Vault password')}
        inputRef={password}
        autoComplete="current-password"
        testId="wd-backup-restore-password"
      />
      {error !== null && (
        <p className="wd-backup-error" role="alert" data-testid="wd-backup-restore-error">
          {error}
        </p>
      )}
      <div className="wd-backup-actions">
        <button
          type="submit"
          className="jp-mod-styled jp-mod-warn wd-backup-button"
          data-testid="wd-backup-restore-submit"
          disabled={busy}
        >
          {busy ? trans.__('Restoring…') : trans.__('Restore')}
        </button>
        <button
          type="button"
          className="jp-mod-styled wd-backup-button"
          data-testid="wd-backup-restore-cancel"
          disabled={busy}
          onClick={cancel}
        >
          {trans.__('Cancel')}
        </button>
      </div>
    </form>
  );
}
