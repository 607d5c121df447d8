import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { WatchdogApiClient } from '../../api';
import { AIFixCommandIDs } from '../../aifix/commands';
import { errorMessage } from '../../connections';
import { CommandsContext, OPEN_BOT_LOGS } from '../../logs/commands';
import { botBadge, IBotSummary, sandboxConfined } from './bots';
import { RunsList } from './RunsList';

export interface IBotItemProps {
  api: WatchdogApiClient;
  bot: IBotSummary;
  trans: TranslationBundle;
  /** After an action succeeded, with the words to announce; the card then lists again. */
  onChanged: (message: string) => void;
}

type Action = 'start' | 'stop' | 'restart' | 'delete';

/**
 * One bot: its state badge, sandbox level, restarts, grants and notebook version, and its
 * actions. Delete asks to confirm inline; a refusal is shown in the server's words (a bot with
 * connections cannot start while the vault is locked).
 */
export function BotItem(props: IBotItemProps): JSX.Element {
  const { api, bot, trans, onChanged } = props;
  const [busy, setBusy] = React.useState<Action | null>(null);
  const [confirming, setConfirming] = React.useState(false);
  const [error, setError] = React.useState<string | null>(null);
  const commands = React.useContext(CommandsContext);

  const badge = botBadge(bot, trans);
  const confined = sandboxConfined(bot.sandbox);
  const active = bot.desiredState === 'running';

  const run = async (action: Action): Promise<void> => {
    setBusy(action);
    setError(null);
    try {
      if (action === 'delete') {
        await api.deleteBot(bot.name);
        onChanged(trans.__('Deleted "%1".', bot.name));
        return;
      }
      await api.botAction(bot.name, action);
      onChanged(actionDone(action, bot.name, trans));
    } catch (failure) {
      setError(errorMessage(failure));
    } finally {
      setBusy(null);
      setConfirming(false);
    }
  };

  return (
    <li
      className="wd-bots-item"
      data-testid="wd-bots-item"
      data-name={bot.name}
      data-state={bot.state}
    >
      <div className="wd-bots-itemHeader">
        <span className="wd-bots-name">{bot.name}</span>
        <span className="wd-bots-mode">{modeText(bot, trans)}</span>
      </div>
      <span className={`wd-bots-badge wd-bots-mod-${badge.tone}`} data-testid="wd-bots-state">
        {badge.text}
      </span>
      <dl className="wd-bots-facts">
        <div
          className={`wd-bots-fact${confined === false ? ' wd-bots-mod-unconfined' : ''}`}
          data-testid="wd-bots-sandbox"
        >
          <dt>{trans.__('Sandbox')}</dt>
          <dd>{bot.sandbox ?? trans.__('not run yet')}</dd>
        </div>
        <div className="wd-bots-fact">
          <dt>{trans.__('Runs')}</dt>
          <dd>{bot.runs}</dd>
        </div>
        <div className="wd-bots-fact">
          <dt>{trans.__('Restarts')}</dt>
          <dd data-testid="wd-bots-restarts">{bot.restarts}</dd>
        </div>
        <div className="wd-bots-fact">
          <dt>{trans.__('Connections')}</dt>
          <dd data-testid="wd-bots-connections">
            {bot.connections.length > 0 ? bot.connections.join(', ') : trans.__('none')}
          </dd>
        </div>
        <div className="wd-bots-fact">
          <dt>{trans.__('Notebook version')}</dt>
          <dd data-testid="wd-bots-version">{bot.notebookVersion}</dd>
        </div>
      </dl>
      {error !== null && (
        <p className="wd-bots-error" role="alert" data-testid="wd-bots-error">
          {error}
        </p>
      )}
      {confirming ? (
        <div className="wd-bots-confirm" role="group" aria-label={trans.__('Delete %1', bot.name)}>
          <span>{trans.__('Delete "%1", its folder and its logs?', bot.name)}</span>
          <button
            type="button"
            className="jp-mod-styled jp-mod-warn wd-bots-button"
            data-testid="wd-bots-confirm-delete"
            disabled={busy !== null}
            onClick={() => void run('delete')}
          >
            {trans.__('Delete')}
          </button>
          <button
            type="button"
            className="jp-mod-styled wd-bots-button"
            data-testid="wd-bots-cancel-delete"
            disabled={busy !== null}
            onClick={() => setConfirming(false)}
          >
            {trans.__('Cancel')}
          </button>
        </div>
      ) : (
        <div className="wd-bots-actions">
          {active ? (
            <ActionButton action="stop" label={trans.__('Stop')} busy={busy} onRun={run} />
          ) : (
            <ActionButton action="start" label={trans.__('Start')} busy={busy} onRun={run} />
          )}
          <ActionButton action="restart" label={trans.__('Restart')} busy={busy} onRun={run} />
          {commands?.hasCommand(OPEN_BOT_LOGS) && (
            <button
              type="button"
              className="jp-mod-styled wd-bots-button"
              data-testid="wd-bots-logs"
              aria-label={trans.__('Show the log of %1', bot.name)}
              onClick={() => void commands.execute(OPEN_BOT_LOGS, { bot: bot.name })}
            >
              {trans.__('Logs')}
            </button>
          )}
          {bot.state === 'crashed' && commands?.hasCommand(AIFixCommandIDs.fixBot) && (
            <button
              type="button"
              className="jp-mod-styled wd-bots-button"
              data-testid="wd-bots-fix"
              aria-label={trans.__('Fix the failed run of %1 with AI', bot.name)}
              onClick={() => void commands.execute(AIFixCommandIDs.fixBot, { bot: bot.name })}
            >
              {trans.__('Fix with AI')}
            </button>
          )}
          <button
            type="button"
            className="jp-mod-styled wd-bots-button"
            data-testid="wd-bots-delete"
            aria-label={trans.__('Delete %1', bot.name)}
            disabled={busy !== null}
            onClick={() => setConfirming(true)}
          >
            {trans.__('Delete')}
          </button>
        </div>
      )}
      <RunsList api={api} bot={bot.name} trans={trans} />
    </li>
  );
}

function ActionButton(props: {
  action: Exclude<Action, 'delete'>;
  label: string;
  busy: Action | null;
  onRun: (action: Action) => Promise<void>;
}): JSX.Element {
  const { action, label, busy, onRun } = props;
  return (
    <button
      type="button"
      className="jp-mod-styled wd-bots-button"
      data-testid={`wd-bots-${action}`}
      disabled={busy !== null}
      aria-busy={busy === action}
      onClick={() => void onRun(action)}
    >
      {label}
    </button>
  );
}

function modeText(bot: IBotSummary, trans: TranslationBundle): string {
  if (bot.mode === 'every' && bot.interval !== null) {
    return trans.__('every %1 s', bot.interval);
  }
  if (bot.mode === 'continuous') {
    return trans.__('continuous');
  }
  return bot.mode === 'once' ? trans.__('once') : bot.mode;
}

function actionDone(
  action: Exclude<Action, 'delete'>,
  name: string,
  trans: TranslationBundle
): string {
  switch (action) {
    case 'start':
      return trans.__('Started "%1".', name);
    case 'stop':
      return trans.__('Stopped "%1".', name);
    case 'restart':
      return trans.__('Restarted "%1".', name);
  }
}
