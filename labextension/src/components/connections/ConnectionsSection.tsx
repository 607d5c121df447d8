import { TranslationBundle } from '@jupyterlab/translation';
import { addIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { WatchdogApiClient } from '../../api';
import { errorMessage, IConnectionSummary, IKindDescription } from '../../connections';
import { VaultStatus } from '../../model';
import { RefreshButton, SidebarCard } from '../Card';
import { AddConnectionForm } from './AddConnectionForm';
import { ConnectionList } from './ConnectionList';

export interface IConnectionsSectionProps {
  api: WatchdogApiClient;
  /** The vault state the sidebar polls: connections exist only in an unlocked vault. */
  vault: VaultStatus;
  trans: TranslationBundle;
}

/** What the list shows: still asking, the connections, or why there are none. */
type Listing =
  | { kind: 'loading' }
  | { kind: 'ready'; connections: IConnectionSummary[] }
  | { kind: 'error'; message: string };

/**
 * The connections card of the sidebar: the masked list, and the add, rename and remove forms.
 *
 * It asks for the list when the vault becomes unlocked and after each change it makes; the
 * server's answers are only ever masked, so nothing this card keeps in state is a secret.
 */
export function ConnectionsSection(props: IConnectionsSectionProps): JSX.Element {
  const { api, vault, trans } = props;
  const unlocked = vault.kind === 'ready' && vault.state === 'unlocked';
  const [listing, setListing] = React.useState<Listing>({ kind: 'loading' });
  const [kinds, setKinds] = React.useState<IKindDescription[] | null>(null);
  const [kindsError, setKindsError] = React.useState<string | null>(null);
  const [adding, setAdding] = React.useState(false);
  const [notice, setNotice] = React.useState('');

  const reload = React.useCallback(async (): Promise<void> => {
    try {
      setListing({ kind: 'ready', connections: await api.listConnections() });
    } catch (error) {
      setListing({ kind: 'error', message: errorMessage(error) });
    }
  }, [api]);

  React.useEffect(() => {
    if (!unlocked) {
      // A locked vault lists nothing; forms opened before the lock are closed with it.
      setAdding(false);
      setListing({ kind: 'loading' });
      return;
    }
    void reload();
  }, [unlocked, reload]);

  React.useEffect(() => {
    if (!unlocked || kinds !== null) {
      return;
    }
    api.listKinds().then(
      found => {
        setKinds(found);
        setKindsError(null);
      },
      error => setKindsError(errorMessage(error))
    );
  }, [unlocked, kinds, api]);

  const addLabel = trans.__('Add a connection');
  return (
    <SidebarCard
      title={trans.__('Connections')}
      className="wd-conn-section"
      testId="wd-conn-section"
      busy={unlocked && listing.kind === 'loading'}
      actions={
        unlocked && (
          <div className="wd-conn-headerActions">
            <RefreshButton
              label={trans.__('Refresh the connections')}
              testId="wd-conn-refresh"
              onClick={() => void reload()}
            />
            <button
              type="button"
              className="jp-WatchdogLab-iconButton"
              data-testid="wd-conn-add"
              title={addLabel}
              aria-label={addLabel}
              aria-expanded={adding}
              disabled={adding || kinds === null}
              onClick={() => {
                setNotice('');
                setAdding(true);
              }}
            >
              <addIcon.react tag="span" className="jp-WatchdogLab-iconButtonIcon" />
            </button>
          </div>
        )
      }
    >
      {!unlocked ? (
        <p className="jp-WatchdogLab-hint" data-testid="wd-conn-locked">
          {lockedHint(vault, trans)}
        </p>
      ) : (
        <>
          {kindsError !== null && (
            <p className="wd-conn-error" role="alert">
              {kindsError}
            </p>
          )}
          {adding && kinds !== null && (
            <AddConnectionForm
              api={api}
              kinds={kinds}
              trans={trans}
              onAdded={created => {
                setAdding(false);
                setNotice(trans.__('Added "%1".', created.name ?? ''));
                void reload();
              }}
              onCancel={() => setAdding(false)}
            />
          )}
          <p className="wd-conn-notice" role="status" data-testid="wd-conn-notice">
            {notice}
          </p>
          {listing.kind === 'error' ? (
            <p className="wd-conn-error" role="alert" data-testid="wd-conn-list-error">
              {listing.message}
            </p>
          ) : listing.kind === 'loading' ? (
            <p className="jp-WatchdogLab-hint">{trans.__('Loading connections…')}</p>
          ) : (
            <ConnectionList
              api={api}
              connections={listing.connections}
              trans={trans}
              onChanged={message => {
                setNotice(message);
                void reload();
              }}
            />
          )}
        </>
      )}
    </SidebarCard>
  );
}

function lockedHint(vault: VaultStatus, trans: TranslationBundle): string {
  if (vault.kind === 'ready' && vault.state === 'absent') {
    return trans.__('Create the vault above to add connections.');
  }
  if (vault.kind === 'ready' && vault.state === 'locked') {
    return trans.__('Unlock the vault above to see and add connections.');
  }
  return trans.__('Connections are shown once the vault is unlocked.');
}
