import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { WatchdogApiClient } from '../../api';
import { errorMessage, IConnectionSummary } from '../../connections';

export interface IRemoveConnectionFormProps {
  api: WatchdogApiClient;
  connection: IConnectionSummary;
  trans: TranslationBundle;
  onRemoved: () => void;
  onCancel: () => void;
}

/**
 * Confirm a removal with the vault password.
 *
 * The password input is uncontrolled: its value is never in React state, and it is emptied the
 * moment the form is sent, whether the server then agrees or not.
 */
export function RemoveConnectionForm(props: IRemoveConnectionFormProps): JSX.Element {
  const { api, connection, trans, onRemoved, onCancel } = props;
  const id = React.useId();
  const passwordInput = React.useRef<HTMLInputElement>(null);
  const [error, setError] = React.useState<string | null>(null);
  const [busy, setBusy] = React.useState(false);
  const shownName = connection.name ?? trans.__('Unreadable record');

  const submit = async (event: React.FormEvent): Promise<void> => {
    event.preventDefault();
    const input = passwordInput.current;
    if (input === null) {
      return;
    }
    const password = input.value;
    input.value = '';
    setBusy(true);
    setError(null);
    try {
      if (connection.name !== null) {
        await api.deleteConnection(connection.name, password);
      } else {
        await api.deleteConnectionById(connection.id, password);
      }
      onRemoved();
    } catch (failure) {
      setError(errorMessage(failure));
      setBusy(false);
      input.focus();
    }
  };

  return (
    <form
      className="wd-conn-inlineForm"
      data-testid="wd-conn-remove-form"
      onSubmit={event => void submit(event)}
      onKeyDown={event => {
        if (event.key === 'Escape') {
          onCancel();
        }
      }}
    >
      <label className="wd-conn-label" htmlFor={id}>
        {trans.__('Vault password to remove "%1"', shownName)}
      </label>
      <input
        id={id}
        ref={passwordInput}
        className="jp-mod-styled wd-conn-input"
        data-testid="wd-conn-remove-password"
        type="password"
        autoComplete="off"
        required
        autoFocus
      />
      {error !== null && (
        <p className="wd-conn-error" role="alert" data-testid="wd-conn-error">
          {error}
        </p>
      )}
      <div className="wd-conn-actions">
        <button type="submit" className="jp-mod-styled jp-mod-warn wd-conn-button" disabled={busy}>
          {trans.__('Remove')}
        </button>
        <button type="button" className="jp-mod-styled wd-conn-button" onClick={onCancel}>
          {trans.__('Cancel')}
        </button>
      </div>
    </form>
  );
}
