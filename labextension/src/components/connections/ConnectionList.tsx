import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { WatchdogApiClient } from '../../api';
import { IConnectionSummary } from '../../connections';
import { ConnectionUsageView } from '../access/ConnectionUsage';
import { RemoveConnectionForm } from './RemoveConnectionForm';
import { RenameConnectionForm } from './RenameConnectionForm';

export interface IConnectionListProps {
  api: WatchdogApiClient;
  connections: IConnectionSummary[];
  trans: TranslationBundle;
  /** After a rename or removal, with the words to announce. */
  onChanged: (message: string) => void;
}

/**
 * The masked connections: name, kind and each field as the server masked it.
 *
 * A record that no longer decrypts is listed as corrupted, with the server's reason, and can
 * only be removed (by id, since its name is unreadable).
 */
export function ConnectionList(props: IConnectionListProps): JSX.Element {
  const { api, connections, trans, onChanged } = props;
  // At most one inline form at a time, keyed by record id.
  const [open, setOpen] = React.useState<{ id: string; form: 'rename' | 'remove' } | null>(null);

  if (connections.length === 0) {
    return (
      <p className="jp-WatchdogLab-hint" data-testid="wd-conn-empty">
        {trans.__('No connections yet. Add one with the + button.')}
      </p>
    );
  }
  return (
    <ul className="wd-conn-list" data-testid="wd-conn-list">
      {connections.map(connection => {
        const corrupted = connection.status === 'corrupted';
        const shownName = connection.name ?? trans.__('Unreadable record');
        const formOpen = open !== null && open.id === connection.id ? open.form : null;
        return (
          <li
            key={connection.id}
            className={`wd-conn-item${corrupted ? ' wd-conn-mod-corrupted' : ''}`}
            data-testid="wd-conn-item"
            data-name={connection.name ?? undefined}
            data-status={connection.status}
          >
            <div className="wd-conn-itemHeader">
              <span className="wd-conn-name">{shownName}</span>
              {connection.kind !== null && <span className="wd-conn-kind">{connection.kind}</span>}
              {corrupted && (
                <span className="wd-conn-badge" data-testid="wd-conn-corrupted">
                  {trans.__('Corrupted')}
                </span>
              )}
            </div>
            {corrupted && connection.error !== null && (
              <p className="wd-conn-error">{connection.error}</p>
            )}
            {Object.keys(connection.fields).length > 0 && (
              <dl className="wd-conn-fields">
                {Object.entries(connection.fields).map(([field, masked]) => (
                  <div key={field} className="wd-conn-field">
                    <dt>{field}</dt>
                    <dd>{masked}</dd>
                  </div>
                ))}
              </dl>
            )}
            {!corrupted && <ConnectionUsageView connectionId={connection.id} trans={trans} />}
            {formOpen === null && (
              <div className="wd-conn-actions">
                {!corrupted && connection.name !== null && (
                  <button
                    type="button"
                    className="jp-mod-styled wd-conn-button"
                    data-testid="wd-conn-rename"
                    aria-label={trans.__('Rename %1', shownName)}
                    onClick={() => setOpen({ id: connection.id, form: 'rename' })}
                  >
                    {trans.__('Rename')}
                  </button>
                )}
                <button
                  type="button"
                  className="jp-mod-styled wd-conn-button"
                  data-testid="wd-conn-remove"
                  aria-label={trans.__('Remove %1', shownName)}
                  onClick={() => setOpen({ id: connection.id, form: 'remove' })}
                >
                  {trans.__('Remove')}
                </button>
              </div>
            )}
            {formOpen === 'rename' && connection.name !== null && (
              <RenameConnectionForm
                api={api}
                name={connection.name}
                trans={trans}
                onRenamed={renamed => {
                  setOpen(null);
                  onChanged(trans.__('Renamed "%1" to "%2".', shownName, renamed.name ?? ''));
                }}
                onCancel={() => setOpen(null)}
              />
            )}
            {formOpen === 'remove' && (
              <RemoveConnectionForm
                api={api}
                connection={connection}
                trans={trans}
                onRemoved={() => {
                  setOpen(null);
                  onChanged(trans.__('Removed "%1".', shownName));
                }}
                onCancel={() => setOpen(null)}
              />
            )}
          </li>
        );
      })}
    </ul>
  );
}
