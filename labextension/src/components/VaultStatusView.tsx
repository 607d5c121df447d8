import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { VaultState } from '../api';
import { VaultStatus } from '../model';
import { RefreshButton, SidebarCard } from './Card';

/** The words shown for each vault state (the state names themselves are the CSS modifiers
 * and test hooks, so they are never translated). */
function stateText(state: VaultState, trans: TranslationBundle): { label: string; hint: string } {
  switch (state) {
    case 'absent':
      return {
        label: trans.__('No vault'),
        hint: trans.__(
          'No vault exists yet. Create one to keep exchange keys sealed on this machine.'
        )
      };
    case 'locked':
      return {
        label: trans.__('Locked'),
        hint: trans.__(
          'The vault is locked. Unlock it to let notebooks and bots use their connections.'
        )
      };
    case 'unlocked':
      return {
        label: trans.__('Unlocked'),
        hint: trans.__(
          'The vault is unlocked. Granted notebooks and bots can use their connections.'
        )
      };
  }
}

export interface IVaultStatusViewProps {
  status: VaultStatus;
  refreshing: boolean;
  onRefresh: () => void;
  trans: TranslationBundle;
  /** The vault's actions, shown under the state. */
  children?: React.ReactNode;
}

/**
 * The vault card of the sidebar.
 *
 * Pure function of its props: it renders server-provided text only as React text nodes, never as
 * HTML, so nothing the server says can inject markup.
 */
export function VaultStatusView(props: IVaultStatusViewProps): JSX.Element {
  const { status, refreshing, onRefresh, trans } = props;
  const key = status.kind === 'ready' ? status.state : status.kind;

  return (
    <SidebarCard
      title={trans.__('Vault')}
      className="jp-WatchdogLab-vault"
      testId="watchdog-vault"
      state={key}
      busy={status.kind === 'loading' || refreshing}
      actions={
        <RefreshButton
          label={trans.__('Refresh the vault state')}
          testId="watchdog-refresh"
          disabled={refreshing}
          onClick={onRefresh}
        />
      }
    >
      <StatusBody status={status} trans={trans} />
      {props.children}
    </SidebarCard>
  );
}

function StatusBody(props: { status: VaultStatus; trans: TranslationBundle }): JSX.Element {
  const { status, trans } = props;
  switch (status.kind) {
    case 'loading':
      return (
        <p className="jp-WatchdogLab-state jp-mod-loading" data-testid="watchdog-vault-state">
          <span className="jp-WatchdogLab-dot" aria-hidden="true" />
          {trans.__('Checking…')}
        </p>
      );
    case 'error':
      return (
        <div className="jp-WatchdogLab-error" role="alert" data-testid="watchdog-error">
          <p className="jp-WatchdogLab-state jp-mod-error" data-testid="watchdog-vault-state">
            <span className="jp-WatchdogLab-dot" aria-hidden="true" />
            {status.unreachable
              ? trans.__('Server extension unreachable')
              : trans.__('Vault state unavailable')}
          </p>
          <p className="jp-WatchdogLab-hint">{status.message}</p>
        </div>
      );
    case 'ready': {
      const text = stateText(status.state, trans);
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
