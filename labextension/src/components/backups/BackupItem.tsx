import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { WatchdogApiClient } from '../../api';
import { errorMessage } from '../../connections';
import {
  formatSize,
  IBackupEntry,
  IBackupVerification,
  IRestoreResult,
  reasonLabel
} from './backups';
import { BackupTime } from './BackupTime';
import { RestoreForm } from './RestoreForm';

export interface IBackupItemProps {
  api: WatchdogApiClient;
  backup: IBackupEntry;
  /** Verifying reads the snapshot with the vault's key, so it needs an unlocked vault. */
  unlocked: boolean;
  /** Whether this snapshot's restore form is the one open (one at a time in the card). */
  restoring: boolean;
  onRestoreToggle: (open: boolean) => void;
  onRestored: (result: IRestoreResult) => void;
  trans: TranslationBundle;
}

/**
 * One snapshot: when it was taken, its size and why, with Verify (the result in the server's
 * words) and Restore… (an inline confirm with the vault password).
 */
export function BackupItem(props: IBackupItemProps): JSX.Element {
  const { api, backup, unlocked, restoring, onRestoreToggle, onRestored, trans } = props;
  const [verifying, setVerifying] = React.useState(false);
  const [verification, setVerification] = React.useState<IBackupVerification | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const restoreButton = React.useRef<HTMLButtonElement>(null);
  const when = backup.createdAt.toLocaleString();

  const verify = async (): Promise<void> => {
    setVerifying(true);
    setError(null);
    setVerification(null);
    try {
      setVerification(await api.verifyBackup(backup.id));
    } catch (failure) {
      setError(errorMessage(failure));
    } finally {
      setVerifying(false);
    }
  };

  return (
    <li
      className="wd-backup-item"
      data-testid="wd-backup-item"
      data-id={backup.id}
      data-reason={backup.reason}
    >
      <div className="wd-backup-itemHeader">
        <BackupTime date={backup.createdAt} testId="wd-backup-time" />
        <span className="wd-backup-size" data-testid="wd-backup-size">
          {formatSize(backup.sizeBytes)}
        </span>
        <span
          className={`wd-backup-reason wd-backup-mod-${backup.reason.replace(/[^a-z-]/g, '')}`}
          data-testid="wd-backup-reason"
        >
          {reasonLabel(backup.reason, trans)}
        </span>
      </div>
      <div className="wd-backup-actions">
        <button
          type="button"
          className="jp-mod-styled wd-backup-button"
          data-testid="wd-backup-verify"
          aria-label={trans.__('Verify the backup of %1', when)}
          title={
            unlocked
              ? trans.__("Check that the backup's files are intact")
              : trans.__('Unlock the vault to verify a backup')
          }
          disabled={!unlocked || verifying}
          onClick={() => void verify()}
        >
          {verifying ? trans.__('Verifying…') : trans.__('Verify')}
        </button>
        <button
          type="button"
          className="jp-mod-styled wd-backup-button"
          ref={restoreButton}
          data-testid="wd-backup-restore"
          aria-label={trans.__('Restore the backup of %1…', when)}
          aria-expanded={restoring}
          onClick={() => onRestoreToggle(!restoring)}
        >
          {trans.__('Restore…')}
        </button>
      </div>
      {verification !== null && <VerificationView result={verification} trans={trans} />}
      {error !== null && (
        <p className="wd-backup-error" role="alert" data-testid="wd-backup-error">
          {error}
        </p>
      )}
      {restoring && (
        <RestoreForm
          api={api}
          backup={backup}
          when={when}
          trans={trans}
          onRestored={onRestored}
          onCancel={() => {
            onRestoreToggle(false);
            // Keyboard users land back where they opened the form, not at the page's start.
            restoreButton.current?.focus();
          }}
        />
      )}
    </li>
  );
}

function VerificationView(props: {
  result: IBackupVerification;
  trans: TranslationBundle;
}): JSX.Element {
  const { result, trans } = props;
  if (result.ok) {
    return (
      <p
        className="wd-backup-verified wd-backup-mod-ok"
        role="status"
        data-testid="wd-backup-verified"
        data-ok="true"
      >
        {trans._n('Intact: %1 file checked.', 'Intact: %1 files checked.', result.checkedFiles)}
      </p>
    );
  }
  return (
    <div
      className="wd-backup-verified wd-backup-mod-damaged"
      role="alert"
      data-testid="wd-backup-verified"
      data-ok="false"
    >
      <p className="wd-backup-verifiedTitle">{trans.__('This backup is damaged:')}</p>
      <ul className="wd-backup-problems">
        {result.problems.map((problem, index) => (
          <li key={index} data-testid="wd-backup-problem">
            {problem}
          </li>
        ))}
      </ul>
    </div>
  );
}
