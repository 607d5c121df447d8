import { refreshIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { VaultState } from '../api';
import { VaultStatus } from '../model';

/** The words shown for each vault state; the keys double as CSS modifiers and test hooks. */
const STATE_TEXT: Record<VaultState, { label: string; hint: string }> = {
  absent: {
    label: 'No vault',
    hint: 'No vault exists yet. Create one to keep exchange keys sealed on this machine.'
  },
  locked: {
    label: 'Locked',
    hint: 'The vault is locked. Unlock it to let notebooks and bots use their connections.'
  },
  unlocked: {
    label: 'Unlocked',
    hint: 'The vault is unlocked. Granted notebooks and bots can use their connections.'
  }
};

export interface IVaultStatusViewProps {
  status: VaultStatus;
  refreshing: boolean;
  onRefresh: () => void;
}

/**
 * The vault card of the sidebar.
 *
 * Pure function of its props: it renders server-provided text only as React text nodes, never as
 * HTML, so nothing the server says can inject markup.
 */
export function VaultStatusView(props: IVaultStatusViewProps): JSX.Element {
  const { status, refreshing, onRefresh } = props;
  const key = status.kind === 'ready' ? status.state : status.kind;

  return (
    <section
      className="jp-WatchdogLab-card jp-WatchdogLab-vault"
      data-testid="watchdog-vault"
      data-state={key}
      aria-busy={status.kind === 'loading' || refreshing}
    >
      <header className="jp-WatchdogLab-cardHeader">
        <h3 className="jp-WatchdogLab-cardTitle">Vault</h3>
        <button
          type="button"
          className="jp-WatchdogLab-iconButton"
          data-testid="watchdog-refresh"
          title="Refresh the vault state"
          aria-label="Refresh the vault state"
          disabled={refreshing}
          onClick={onRefresh}
        >
          <refreshIcon.react tag="span" className="jp-WatchdogLab-iconButtonIcon" />
        </button>
      </header>
      <StatusBody status={status} />
    </section>
  );
}

function StatusBody(props: { status: VaultStatus }): JSX.Element {
  const { status } = props;
  switch (status.kind) {
    case 'loading':
      return (
        <p className="jp-WatchdogLab-state jp-mod-loading" data-testid="watchdog-vault-state">
          <span className="jp-WatchdogLab-dot" aria-hidden="true" />
          Checking…
        </p>
      );
    case 'error':
      return (
        <div className="jp-WatchdogLab-error" role="alert" data-testid="watchdog-error">
          <p className="jp-WatchdogLab-state jp-mod-error" data-testid="watchdog-vault-state">
            <span className="jp-WatchdogLab-dot" aria-hidden="true" />
            {status.unreachable ? 'Server extension unreachable' : 'Vault state unavailable'}
          </p>
          <p className="jp-WatchdogLab-hint">{status.message}</p>
        </div>
      );
    case 'ready': {
      const text = STATE_TEXT[status.state];
      return (
        <>
          <p
            className={`jp-WatchdogLab-state jp-mod-${status.state}`}
            data-testid="watchdog-vault-state"
          >
            <span className="jp-WatchdogLab-dot" aria-hidden="true" />
            {text.label}
          </p>
          <p className="jp-WatchdogLab-hint">{text.hint}</p>
        </>
      );
    }
  }
}
