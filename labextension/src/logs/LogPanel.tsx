/**
 * The log view of one bot, opened in the main area: a toolbar (follow, pause, level, text
 * filter, jump to end, stream state) over the virtualised rows.
 *
 * It streams only while it is visible: a browser opens at most six HTTP/1.1 connections to one
 * server, and a log tab in the background must not hold one. Shown again, it resumes after the
 * last line it holds, so nothing is missed and nothing repeats.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import * as React from 'react';

import { LogList } from './LogList';
import { BotLogModel } from './model';
import { LogLevel } from './records';
import { StreamState } from './stream';

/** A view's render is coalesced to one per frame however fast lines arrive. */
function nextFrame(callback: () => void): void {
  if (typeof window.requestAnimationFrame === 'function') {
    window.requestAnimationFrame(callback);
  } else {
    setTimeout(callback, 0);
  }
}

export class BotLogPanel extends ReactWidget {
  constructor(model: BotLogModel, trans: TranslationBundle) {
    super();
    this.model = model;
    this._trans = trans;
    this.addClass('wd-logs-panel');
    model.changed.connect(this._onChanged, this);
  }

  readonly model: BotLogModel;

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.model.dispose();
    super.dispose();
  }

  protected render(): JSX.Element {
    return <LogView model={this.model} trans={this._trans} version={this._version} />;
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this.model.connect();
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    if (this.isVisible) {
      void this.model.connect();
    }
  }

  protected onAfterHide(msg: Message): void {
    this.model.disconnect();
    super.onAfterHide(msg);
  }

  protected onBeforeDetach(msg: Message): void {
    this.model.disconnect();
    super.onBeforeDetach(msg);
  }

  private _onChanged(): void {
    if (this._scheduled) {
      return;
    }
    this._scheduled = true;
    nextFrame(() => {
      this._scheduled = false;
      this._version += 1;
      this.update();
    });
  }

  private _trans: TranslationBundle;
  private _scheduled = false;
  private _version = 0;
}

/** The choices of the level filter: the least level a line needs to be shown. */
function levelChoices(trans: TranslationBundle): [LogLevel, string][] {
  return [
    ['debug', trans.__('All lines')],
    ['info', trans.__('Info and above')],
    ['warning', trans.__('Warnings and errors')],
    ['error', trans.__('Errors only')]
  ];
}

function stateText(state: StreamState, trans: TranslationBundle): string {
  switch (state) {
    case 'connecting':
      return trans.__('Connecting…');
    case 'live':
      return trans.__('Live');
    case 'retrying':
      return trans.__('Reconnecting…');
    case 'ended':
      return trans.__('Ended');
    case 'stopped':
      return trans.__('Not streaming');
  }
}

export function LogView(props: {
  model: BotLogModel;
  trans: TranslationBundle;
  version: number;
}): JSX.Element {
  const { model, trans, version } = props;
  const { status } = model;
  const filter = model.filter;
  const count = model.visibleCount;
  const held = model.heldBack;
  const levelId = React.useId();
  return (
    <div className="wd-logs-view" data-testid="wd-logs-view" data-bot={model.bot}>
      <div className="wd-logs-toolbar" role="toolbar" aria-label={trans.__('Log controls')}>
        <label className="wd-logs-follow">
          <input
            type="checkbox"
            data-testid="wd-logs-follow"
            checked={model.follow}
            onChange={event => {
              model.follow = event.currentTarget.checked;
            }}
          />
          {trans.__('Follow')}
        </label>
        <button
          type="button"
          className="jp-mod-styled wd-logs-button"
          data-testid="wd-logs-pause"
          aria-pressed={model.paused}
          onClick={() => {
            model.paused = !model.paused;
          }}
        >
          {model.paused
            ? held > 0
              ? trans._n('Resume (%1 new line)', 'Resume (%1 new lines)', held)
              : trans.__('Resume')
            : trans.__('Pause')}
        </button>
        <label className="wd-logs-levelLabel" htmlFor={levelId}>
          {trans.__('Level')}
        </label>
        <select
          id={levelId}
          className="wd-logs-level"
          data-testid="wd-logs-level"
          value={filter.minLevel}
          onChange={event => {
            model.filter = { ...model.filter, minLevel: event.currentTarget.value as LogLevel };
          }}
        >
          {levelChoices(trans).map(([level, text]) => (
            <option key={level} value={level}>
              {text}
            </option>
          ))}
        </select>
        <input
          type="search"
          className="wd-logs-filter"
          data-testid="wd-logs-filter"
          aria-label={trans.__('Show only lines containing')}
          placeholder={trans.__('Filter lines')}
          value={filter.text}
          onChange={event => {
            model.filter = { ...model.filter, text: event.currentTarget.value };
          }}
        />
        <button
          type="button"
          className="jp-mod-styled wd-logs-button"
          data-testid="wd-logs-end"
          onClick={() => {
            model.paused = false;
            model.follow = true;
          }}
        >
          {trans.__('Jump to end')}
        </button>
        <span
          className={`wd-logs-state wd-logs-state-${status.state}`}
          role="status"
          data-testid="wd-logs-state"
          data-state={status.state}
        >
          {status.message
            ? trans.__('%1 %2', stateText(status.state, trans), status.message)
            : stateText(status.state, trans)}
        </span>
        <span className="wd-logs-count" data-testid="wd-logs-count">
          {trans._n('%1 line', '%1 lines', count)}
        </span>
      </div>
      {model.historyError !== null && (
        <p className="wd-logs-error" role="alert" data-testid="wd-logs-history-error">
          {model.historyError}
        </p>
      )}
      {count === 0 && (
        <p className="wd-logs-empty" data-testid="wd-logs-empty">
          {model.buffer.size === 0 ? trans.__('No lines yet.') : trans.__('No line matches.')}
        </p>
      )}
      <LogList model={model} version={version} label={trans.__('Log of the bot %1', model.bot)} />
    </div>
  );
}
