import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { WatchdogApiClient } from '../../api';
import { errorMessage, IConnectionSummary } from '../../connections';

export interface IRenameConnectionFormProps {
  api: WatchdogApiClient;
  name: string;
  trans: TranslationBundle;
  onRenamed: (renamed: IConnectionSummary) => void;
  onCancel: () => void;
}

/** Rename in place. A name reaches no secret, so the server asks no password for it. */
export function RenameConnectionForm(props: IRenameConnectionFormProps): JSX.Element {
  const { api, name, trans, onRenamed, onCancel } = props;
  const id = React.useId();
  const [newName, setNewName] = React.useState(name);
  const [error, setError] = React.useState<string | null>(null);
  const [busy, setBusy] = React.useState(false);

  const submit = async (event: React.FormEvent): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onRenamed(await api.renameConnection(name, newName.trim()));
    } catch (failure) {
      setError(errorMessage(failure));
      setBusy(false);
    }
  };

  return (
    <form
      className="wd-conn-inlineForm"
      data-testid="wd-conn-rename-form"
      onSubmit={event => void submit(event)}
      onKeyDown={event => {
        if (event.key === 'Escape') {
          onCancel();
        }
      }}
    >
      <label className="wd-conn-label" htmlFor={id}>
        {trans.__('New name for "%1"', name)}
      </label>
      <input
        id={id}
        className="jp-mod-styled wd-conn-input"
        data-testid="wd-conn-new-name"
        type="text"
        required
        autoFocus
        maxLength={64}
        value={newName}
        onChange={event => setNewName(event.target.value)}
      />
      {error !== null && (
        <p className="wd-conn-error" role="alert" data-testid="wd-conn-error">
          {error}
        </p>
      )}
      <div className="wd-conn-actions">
        <button
          type="submit"
          className="jp-mod-styled jp-mod-accept wd-conn-button"
          disabled={busy}
        >
          {trans.__('Rename')}
        </button>
        <button type="button" className="jp-mod-styled wd-conn-button" onClick={onCancel}>
          {trans.__('Cancel')}
        </button>
      </div>
    </form>
  );
}
