import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { WatchdogApiClient } from '../../api';
import { errorMessage } from '../../connections';
import { CommandsContext } from '../../logs/commands';
import { OPEN_BOT_NOTEBOOK, OPEN_BOT_RUN } from '../../promote/commands';
import { IRunSummary, runLabel } from './runs';

export interface IRunsListProps {
  api: WatchdogApiClient;
  /** The bot's name (its ref in the routes). */
  bot: string;
  trans: TranslationBundle;
}

type Listing =
  | { kind: 'closed' }
  | { kind: 'loading' }
  | { kind: 'ready'; runs: IRunSummary[] }
  | { kind: 'error'; message: string };

/**
 * A bot's run history, folded until asked for: the executed notebooks it kept, newest first,
 * each opening read-only in a tab; and its current notebook opened as a copy on the bot's own
 * environment (the sealed version itself is never opened for editing).
 */
export function RunsList(props: IRunsListProps): JSX.Element {
  const { api, bot, trans } = props;
  const commands = React.useContext(CommandsContext);
  const [listing, setListing] = React.useState<Listing>({ kind: 'closed' });
  const [error, setError] = React.useState<string | null>(null);
  const open = listing.kind !== 'closed';
  const listId = `wd-runs-${bot.replace(/[^A-Za-z0-9_-]/g, '-')}`;

  const load = async (): Promise<void> => {
    setListing({ kind: 'loading' });
    try {
      setListing({ kind: 'ready', runs: await api.listRuns(bot) });
    } catch (failure) {
      setListing({ kind: 'error', message: errorMessage(failure) });
    }
  };

  const execute = async (command: string, args: Record<string, string>): Promise<void> => {
    setError(null);
    try {
      await commands?.execute(command, args);
    } catch (failure) {
      setError(errorMessage(failure));
    }
  };

  return (
    <div className="wd-runs" data-testid="wd-runs">
      <div className="wd-runs-actions">
        <button
          type="button"
          className="jp-mod-styled wd-bots-button"
          data-testid="wd-runs-toggle"
          aria-expanded={open}
          aria-controls={listId}
          aria-label={trans.__('Run history of %1', bot)}
          onClick={() => (open ? setListing({ kind: 'closed' }) : void load())}
        >
          {open ? trans.__('Hide runs') : trans.__('Run history')}
        </button>
        {commands?.hasCommand(OPEN_BOT_NOTEBOOK) && (
          <button
            type="button"
            className="jp-mod-styled wd-bots-button"
            data-testid="wd-runs-open-notebook"
            aria-label={trans.__("Open a copy of %1's notebook in the bot's environment", bot)}
            title={trans.__(
              "A copy of the bot's notebook, on the bot's kernel; the bot's own version is not changed"
            )}
            onClick={() => void execute(OPEN_BOT_NOTEBOOK, { bot })}
          >
            {trans.__('Open notebook')}
          </button>
        )}
      </div>
      {error !== null && (
        <p className="wd-runs-error" role="alert" data-testid="wd-runs-error">
          {error}
        </p>
      )}
      {open && (
        <div id={listId} className="wd-runs-panel" aria-busy={listing.kind === 'loading'}>
          {listing.kind === 'loading' && (
            <p className="jp-WatchdogLab-hint">{trans.__('Loading runs…')}</p>
          )}
          {listing.kind === 'error' && (
            <p className="wd-runs-error" role="alert" data-testid="wd-runs-error">
              {listing.message}
            </p>
          )}
          {listing.kind === 'ready' &&
            (listing.runs.length === 0 ? (
              <p className="jp-WatchdogLab-hint" data-testid="wd-runs-empty">
                {trans.__('No run kept yet.')}
              </p>
            ) : (
              <ul className="wd-runs-list" data-testid="wd-runs-list">
                {listing.runs.map(run => (
                  <RunRow
                    key={run.name}
                    run={run}
                    trans={trans}
                    canOpen={commands?.hasCommand(OPEN_BOT_RUN) ?? false}
                    onOpen={() => void execute(OPEN_BOT_RUN, { bot, run: run.name })}
                  />
                ))}
              </ul>
            ))}
        </div>
      )}
    </div>
  );
}

function RunRow(props: {
  run: IRunSummary;
  trans: TranslationBundle;
  canOpen: boolean;
  onOpen: () => void;
}): JSX.Element {
  const { run, trans } = props;
  const label = runLabel(run.name);
  const text = label ? trans.__('Run %1 — %2', label.run, label.time.toLocaleString()) : run.name;
  return (
    <li className="wd-runs-item" data-testid="wd-runs-item" data-name={run.name}>
      <span className="wd-runs-label">{text}</span>
      {props.canOpen && (
        <button
          type="button"
          className="jp-mod-styled wd-bots-button"
          data-testid="wd-runs-open"
          aria-label={trans.__('Open %1 read-only', text)}
          onClick={props.onOpen}
        >
          {trans.__('Open')}
        </button>
      )}
    </li>
  );
}
