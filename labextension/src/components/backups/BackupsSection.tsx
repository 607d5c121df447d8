import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { WatchdogApiClient } from '../../api';
import { errorMessage } from '../../connections';
import { VaultStatus } from '../../model';
import { RefreshButton, SidebarCard, usePolling } from '../Card';
import { IBackupListing, IRestoreResult } from './backups';
import { BackupItem } from './BackupItem';
import { BackupTime } from './BackupTime';

export interface IBackupsSectionProps {
  api: WatchdogApiClient;
  /** The vault state the sidebar polls: a backup is taken, or verified, only while unlocked. */
  vault: VaultStatus;
  /** Whether the sidebar is visible: the list is polled only while someone can see it. */
  active: boolean;
  /** Milliseconds between two list requests while active (the sidebar's refresh setting). */
  interval: number;
  trans: TranslationBundle;
  /** After a restore: the vault, its connections and its bots changed under the other cards. */
  onRestored?: (result: IRestoreResult) => void;
}

/** What the card shows: still asking, the snapshots, or why there are none. */
type Listing =
  { kind: 'loading' } | ({ kind: 'ready' } & IBackupListing) | { kind: 'error'; message: string };

/** The last thing the card did, announced under its actions. */
type Outcome = { kind: 'created'; id: string } | ({ kind: 'restored' } & IRestoreResult) | null;

/**
 * The sidebar's Backups card: the vault's encrypted snapshots, newest first, with how long they
 * are kept and how the automatic backups fare; "Back up now", and per snapshot Verify and
 * Restore….
 *
 * Automatic backups are taken by the server on its own schedule, so the list is asked for again
 * on the sidebar's interval while it is visible, like the bots. Nothing the card keeps is a
 * secret: the restore password goes from its input straight into the request.
 */
export function BackupsSection(props: IBackupsSectionProps): JSX.Element {
  const { api, vault, active, interval, trans, onRestored } = props;
  const unlocked = vault.kind === 'ready' && vault.state === 'unlocked';
  const locked = vault.kind === 'ready' && vault.state === 'locked';
  const vaultState = vault.kind === 'ready' ? vault.state : vault.kind;
  const [listing, setListing] = React.useState<Listing>({ kind: 'loading' });
  const [creating, setCreating] = React.useState(false);
  const [createError, setCreateError] = React.useState<string | null>(null);
  const [outcome, setOutcome] = React.useState<Outcome>(null);
  const [restoring, setRestoring] = React.useState<string | null>(null);
  const lockedHintId = React.useId();

  const reload = React.useCallback(async (): Promise<void> => {
    try {
      setListing({ kind: 'ready', ...(await api.listBackups()) });
    } catch (error) {
      setListing({ kind: 'error', message: errorMessage(error) });
    }
  }, [api]);

  // Also on each vault state change: an unlock is when the server may have caught up a backup.
  const poll = React.useCallback(() => void reload(), [reload]);
  usePolling(active, interval, poll, vaultState);

  const create = async (): Promise<void> => {
    setCreating(true);
    setCreateError(null);
    setOutcome(null);
    try {
      const created = await api.createBackup();
      setOutcome({ kind: 'created', id: created.id });
      await reload();
    } catch (error) {
      setCreateError(errorMessage(error));
    } finally {
      setCreating(false);
    }
  };

  const restored = (result: IRestoreResult): void => {
    setRestoring(null);
    setOutcome({ kind: 'restored', ...result });
    void reload();
    onRestored?.(result);
  };

  return (
    <SidebarCard
      title={trans.__('Backups')}
      className="wd-backup-section"
      testId="wd-backup-section"
      busy={listing.kind === 'loading'}
      actions={
        <RefreshButton
          label={trans.__('Refresh the backups')}
          testId="wd-backup-refresh"
          onClick={poll}
        />
      }
    >
      {listing.kind === 'ready' && <Schedule listing={listing} trans={trans} />}
      <div className="wd-backup-create">
        <button
          type="button"
          className="jp-mod-styled jp-mod-accept wd-backup-button"
          data-testid="wd-backup-create"
          aria-describedby={unlocked ? undefined : lockedHintId}
          disabled={!unlocked || creating}
          onClick={() => void create()}
        >
          {creating ? trans.__('Backing up…') : trans.__('Back up now')}
        </button>
        {!unlocked && (
          <p id={lockedHintId} className="jp-WatchdogLab-hint" data-testid="wd-backup-locked">
            {lockedHint(vault, trans)}
          </p>
        )}
      </div>
      {createError !== null && (
        <p className="wd-backup-error" role="alert" data-testid="wd-backup-create-error">
          {createError}
        </p>
      )}
      <div className="wd-backup-notice" role="status" data-testid="wd-backup-notice">
        {outcome !== null && <OutcomeView outcome={outcome} locked={locked} trans={trans} />}
      </div>
      {listing.kind === 'error' ? (
        <p className="wd-backup-error" role="alert" data-testid="wd-backup-list-error">
          {listing.message}
        </p>
      ) : listing.kind === 'loading' ? (
        <p className="jp-WatchdogLab-hint">{trans.__('Loading backups…')}</p>
      ) : listing.backups.length === 0 ? (
        <p className="jp-WatchdogLab-hint" data-testid="wd-backup-empty">
          {trans.__('No backups yet.')}
        </p>
      ) : (
        <ul className="wd-backup-list" data-testid="wd-backup-list">
          {listing.backups.map(backup => (
            <BackupItem
              key={backup.id}
              api={api}
              backup={backup}
              unlocked={unlocked}
              restoring={restoring === backup.id}
              onRestoreToggle={open => {
                setOutcome(null);
                setRestoring(open ? backup.id : null);
              }}
              onRestored={restored}
              trans={trans}
            />
          ))}
        </ul>
      )}
    </SidebarCard>
  );
}

/** Whether the server backs up on its own, when it last did, and how long snapshots stay. */
function Schedule(props: { listing: IBackupListing; trans: TranslationBundle }): JSX.Element {
  const { listing, trans } = props;
  return (
    <>
      <dl className="wd-backup-facts" data-testid="wd-backup-schedule">
        <div className="wd-backup-fact">
          <dt>{trans.__('Automatic')}</dt>
          <dd data-testid="wd-backup-automatic">
            {listing.automatic ? trans.__('On') : trans.__('Off')}
          </dd>
        </div>
        {listing.automatic && (
          <div className="wd-backup-fact">
            <dt>{trans.__('Last automatic')}</dt>
            <dd data-testid="wd-backup-last-automatic">
              {listing.lastAutomaticAt === null ? (
                trans.__('Not yet')
              ) : (
                <BackupTime date={listing.lastAutomaticAt} testId="wd-backup-last-automatic-time" />
              )}
            </dd>
          </div>
        )}
        <div className="wd-backup-fact">
          <dt>{trans.__('Kept for')}</dt>
          <dd data-testid="wd-backup-retention">
            {trans._n('%1 day', '%1 days', listing.retentionDays)}
          </dd>
        </div>
      </dl>
      {listing.lastError !== null && (
        <p className="wd-backup-warning" role="alert" data-testid="wd-backup-last-error">
          {listing.lastError}
        </p>
      )}
    </>
  );
}

function OutcomeView(props: {
  outcome: NonNullable<Outcome>;
  /** After a restore the server locks the vault: the card then says how to open it. */
  locked: boolean;
  trans: TranslationBundle;
}): JSX.Element {
  const { outcome, locked, trans } = props;
  if (outcome.kind === 'created') {
    return (
      <p className="wd-backup-done" data-testid="wd-backup-created">
        {trans.__('Backed up as %1.', outcome.id)}
      </p>
    );
  }
  return (
    <div className="wd-backup-done" data-testid="wd-backup-restored">
      <p>
        {trans.__(
          'Restored the backup of %1: %2 and %3.',
          localTime(outcome.restoredFrom),
          trans._n('%1 connection', '%1 connections', outcome.connections),
          trans._n('%1 bot', '%1 bots', outcome.bots)
        )}
      </p>
      {outcome.safetyBackup && (
        <p data-testid="wd-backup-safety">
          {trans.__(
            'The state before the restore was saved as backup %1; restore it to undo.',
            outcome.safetyBackup
          )}
        </p>
      )}
      {locked && (
        <p data-testid="wd-backup-unlock-hint">
          {trans.__('Unlock the vault above with the password it had then.')}
        </p>
      )}
    </div>
  );
}

/** The server's ISO-8601 time as the card writes times (local), or as given if it is none. */
function localTime(value: string): string {
  const time = Date.parse(value);
  return Number.isNaN(time) ? value : new Date(time).toLocaleString();
}

function lockedHint(vault: VaultStatus, trans: TranslationBundle): string {
  if (vault.kind === 'ready' && vault.state === 'absent') {
    return trans.__('Create the vault above to back it up.');
  }
  if (vault.kind === 'ready' && vault.state === 'locked') {
    return trans.__('Unlock the vault above to back up now or verify a backup.');
  }
  return trans.__('Backups can be taken once the vault is unlocked.');
}
