import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { WatchdogApiClient } from '../../api';
import { errorMessage } from '../../connections';
import { botsChanged } from '../../promote/events';
import { RefreshButton, SidebarCard, usePolling } from '../Card';
import { IBotSummary } from './bots';
import { BotItem } from './BotItem';

export interface IBotsSectionProps {
  api: WatchdogApiClient;
  /** Whether the sidebar is visible: the list is polled only while someone can see it. */
  active: boolean;
  /** Milliseconds between two list requests while active. */
  interval: number;
  trans: TranslationBundle;
}

/** What the list shows: still asking, the bots, or why there are none. */
type Listing =
  { kind: 'loading' } | { kind: 'ready'; bots: IBotSummary[] } | { kind: 'error'; message: string };

/**
 * The bots card of the sidebar: each bot's state, sandbox and grants, with start, stop, restart
 * and delete.
 *
 * A bot's state changes on its own (a run ends, a runner crashes, a sleep ends), so the list is
 * asked for again on an interval while the sidebar is visible, and after each action.
 */
export function BotsSection(props: IBotsSectionProps): JSX.Element {
  const { api, active, interval, trans } = props;
  const [listing, setListing] = React.useState<Listing>({ kind: 'loading' });
  const [notice, setNotice] = React.useState('');

  const reload = React.useCallback(async (): Promise<void> => {
    try {
      setListing({ kind: 'ready', bots: await api.listBots() });
    } catch (error) {
      setListing({ kind: 'error', message: errorMessage(error) });
    }
  }, [api]);

  // A promote from a notebook's toolbar lists the new bot at once, not at the next poll.
  React.useEffect(() => {
    const onPromoted = (): void => void reload();
    botsChanged.connect(onPromoted);
    return () => void botsChanged.disconnect(onPromoted);
  }, [reload]);

  const poll = React.useCallback(() => void reload(), [reload]);
  usePolling(active, interval, poll);

  return (
    <SidebarCard
      title={trans.__('Bots')}
      className="wd-bots-section"
      testId="wd-bots-section"
      busy={listing.kind === 'loading'}
      actions={
        <RefreshButton
          label={trans.__('Refresh the bots')}
          testId="wd-bots-refresh"
          onClick={poll}
        />
      }
    >
      <p className="wd-bots-notice" role="status" data-testid="wd-bots-notice">
        {notice}
      </p>
      {listing.kind === 'error' ? (
        <p className="wd-bots-error" role="alert" data-testid="wd-bots-list-error">
          {listing.message}
        </p>
      ) : listing.kind === 'loading' ? (
        <p className="jp-WatchdogLab-hint">{trans.__('Loading bots…')}</p>
      ) : listing.bots.length === 0 ? (
        <p className="jp-WatchdogLab-hint" data-testid="wd-bots-empty">
          {trans.__('No bots yet — promote a notebook.')}
        </p>
      ) : (
        <ul className="wd-bots-list" data-testid="wd-bots-list">
          {listing.bots.map(bot => (
            <BotItem
              key={bot.id}
              api={api}
              bot={bot}
              trans={trans}
              onChanged={message => {
                setNotice(message);
                void reload();
              }}
            />
          ))}
        </ul>
      )}
    </SidebarCard>
  );
}
