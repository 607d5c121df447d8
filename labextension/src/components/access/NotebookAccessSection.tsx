import { PathExt } from '@jupyterlab/coreutils';
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { errorMessage } from '../../connections';
import { RefreshButton, SidebarCard } from '../Card';
import { IAccessRow } from './grants';
import { AccessModel, NotebookAccess } from './model';

export interface INotebookAccessSectionProps {
  model: AccessModel;
  trans: TranslationBundle;
}

/** Re-render on every change of the model. */
function useModel(model: AccessModel): NotebookAccess {
  const [, setVersion] = React.useState(0);
  React.useEffect(() => {
    const bump = (): void => setVersion(version => version + 1);
    model.changed.connect(bump);
    return () => {
      model.changed.disconnect(bump);
    };
  }, [model]);
  return model.access;
}

/**
 * The sidebar's notebook access card: each connection with a switch for the current
 * notebook's kernel.
 *
 * Turning one on asks for the vault password inline (the Jupyter token is readable by kernel
 * code, so it is no consent); the input is uncontrolled and emptied before the request leaves.
 * Turning one off needs nothing: withdrawing access never exposes a secret.
 */
export function NotebookAccessSection(props: INotebookAccessSectionProps): JSX.Element {
  const { model, trans } = props;
  const access = useModel(model);
  const [refreshing, setRefreshing] = React.useState(false);
  return (
    <SidebarCard
      title={trans.__('Notebook access')}
      className="wd-access-section"
      testId="wd-access-section"
      busy={access.kind === 'loading'}
      actions={
        access.kind !== 'locked' && (
          <div className="wd-access-headerActions">
            <RefreshButton
              label={trans.__('Refresh notebook access')}
              testId="wd-access-refresh"
              disabled={refreshing}
              onClick={() => {
                setRefreshing(true);
                void model.refresh().finally(() => setRefreshing(false));
              }}
            />
          </div>
        )
      }
    >
      <AccessBody access={access} model={model} trans={trans} />
    </SidebarCard>
  );
}

function AccessBody(props: {
  access: NotebookAccess;
  model: AccessModel;
  trans: TranslationBundle;
}): JSX.Element {
  const { access, model, trans } = props;
  switch (access.kind) {
    case 'locked':
      return (
        <p className="jp-WatchdogLab-hint" data-testid="wd-access-hint">
          {trans.__('Unlock the vault to choose which connections a notebook may use.')}
        </p>
      );
    case 'no-notebook':
      return (
        <p className="jp-WatchdogLab-hint" data-testid="wd-access-hint">
          {trans.__('Open a notebook to choose which connections its kernel may use.')}
        </p>
      );
    case 'no-kernel':
      return (
        <>
          <NotebookName path={access.path} trans={trans} />
          <p className="jp-WatchdogLab-hint" data-testid="wd-access-hint">
            {trans.__('This notebook has no running kernel. Start one to grant it connections.')}
          </p>
        </>
      );
    case 'loading':
      return (
        <>
          <NotebookName path={access.path} trans={trans} />
          <p className="jp-WatchdogLab-hint">{trans.__('Loading notebook access…')}</p>
        </>
      );
    case 'error':
      return (
        <>
          <NotebookName path={access.path} trans={trans} />
          <p className="wd-access-error" role="alert" data-testid="wd-access-error">
            {access.message}
          </p>
        </>
      );
    case 'ready':
      return (
        <>
          <NotebookName path={access.path} trans={trans} />
          {access.rows.length === 0 ? (
            <p className="jp-WatchdogLab-hint" data-testid="wd-access-hint">
              {trans.__('No connections yet. Add one in the Connections card.')}
            </p>
          ) : (
            <ul className="wd-access-list" data-testid="wd-access-list">
              {access.rows.map(row => (
                <AccessItem
                  key={`${access.kernelId}:${row.connectionId}`}
                  row={row}
                  notebook={PathExt.basename(access.path)}
                  model={model}
                  trans={trans}
                />
              ))}
            </ul>
          )}
        </>
      );
  }
}

function NotebookName(props: { path: string; trans: TranslationBundle }): JSX.Element {
  return (
    <p className="wd-access-notebook" data-testid="wd-access-notebook" title={props.path}>
      {props.trans.__('For %1', props.path)}
    </p>
  );
}

function AccessItem(props: {
  row: IAccessRow;
  notebook: string;
  model: AccessModel;
  trans: TranslationBundle;
}): JSX.Element {
  const { row, notebook, model, trans } = props;
  const [asking, setAsking] = React.useState(false);
  const [busy, setBusy] = React.useState(false);
  const [error, setError] = React.useState<string | null>(null);
  const passwordInput = React.useRef<HTMLInputElement>(null);
  const inputId = React.useId();

  const toggle = async (): Promise<void> => {
    setError(null);
    if (!row.granted) {
      setAsking(current => !current);
      return;
    }
    setBusy(true);
    try {
      await model.revoke(row.connectionId);
    } catch (failure) {
      setError(errorMessage(failure));
    } finally {
      setBusy(false);
    }
  };

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
      await model.grant(row.connectionId, password);
      setAsking(false);
    } catch (failure) {
      setError(errorMessage(failure));
      input.focus();
    } finally {
      setBusy(false);
    }
  };

  const cancel = (): void => {
    if (passwordInput.current) {
      passwordInput.current.value = '';
    }
    setAsking(false);
    setError(null);
  };

  return (
    <li
      className={`wd-access-item${row.granted ? ' wd-access-mod-granted' : ''}`}
      data-testid="wd-access-item"
      data-name={row.name}
      data-granted={row.granted ? 'true' : 'false'}
    >
      <div className="wd-access-itemHeader">
        <span className="wd-access-name">{row.name}</span>
        <button
          type="button"
          role="switch"
          className="wd-access-switch"
          data-testid="wd-access-toggle"
          aria-checked={row.granted}
          aria-label={trans.__('Let %1 use %2', notebook, row.name)}
          title={
            row.granted
              ? trans.__('%1 may use %2: click to withdraw it', notebook, row.name)
              : trans.__('Grant %2 to %1 (asks for the vault password)', notebook, row.name)
          }
          disabled={busy}
          onClick={() => void toggle()}
        >
          <span className="wd-access-switchTrack" aria-hidden="true">
            <span className="wd-access-switchThumb" />
          </span>
          <span className="wd-access-switchText">
            {row.granted ? trans.__('On') : trans.__('Off')}
          </span>
        </button>
      </div>
      {asking && !row.granted && (
        <form
          className="wd-access-form"
          data-testid="wd-access-form"
          autoComplete="off"
          onSubmit={event => void submit(event)}
          onKeyDown={event => {
            if (event.key === 'Escape') {
              cancel();
            }
          }}
        >
          <label className="wd-access-label" htmlFor={inputId}>
            {trans.__('Vault password to let %1 use "%2"', notebook, row.name)}
          </label>
          <input
            id={inputId}
            ref={passwordInput}
            className="jp-mod-styled wd-access-input"
            data-testid="wd-access-password"
            type="password"
            autoComplete="off"
            autoCapitalize="off"
            autoCorrect="off"
            spellCheck={false}
            required
            autoFocus
          />
          <div className="wd-access-actions">
            <button
              type="submit"
              className="jp-mod-styled jp-mod-accept wd-access-button"
              data-testid="wd-access-grant"
              disabled={busy}
            >
              {trans.__('Grant')}
            </button>
            <button type="button" className="jp-mod-styled wd-access-button" onClick={cancel}>
              {trans.__('Cancel')}
            </button>
          </div>
        </form>
      )}
      {error !== null && (
        <p className="wd-access-error" role="alert" data-testid="wd-access-error">
          {error}
        </p>
      )}
    </li>
  );
}
