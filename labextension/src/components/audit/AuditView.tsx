import { TranslationBundle } from '@jupyterlab/translation';
import { refreshIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { WatchdogApiClient } from '../../api';
import { errorMessage } from '../../connections';
import {
  actionChoices,
  AuditLog,
  detailPairs,
  EMPTY_FILTER,
  filterEvents,
  IAuditEvent,
  IAuditFilter
} from './audit';

/** Events asked for per request; the server's most. */
export const AUDIT_PAGE_SIZE = 500;
/** Rows drawn at first and added by each "Show more": a long trail is drawn a page at a time. */
export const AUDIT_ROWS_PER_PAGE = 100;
/** Requests a time filter may make to reach back to its start, at most. */
export const AUDIT_MAX_PAGES_BACK = 20;

const MS_PER_SECOND = 1000;

export interface IAuditViewProps {
  api: WatchdogApiClient;
  trans: TranslationBundle;
}

/**
 * The vault's audit trail in the main area: newest first, filtered by action, words and time
 * in the browser over the pages read so far (older pages on request, or as far back as a time
 * filter needs), and drawn a page of rows at a time.
 */
export function AuditView(props: IAuditViewProps): JSX.Element {
  const { api, trans } = props;
  const log = React.useMemo(() => new AuditLog(api, AUDIT_PAGE_SIZE), [api]);
  const [events, setEvents] = React.useState<readonly IAuditEvent[]>([]);
  const [hasOlder, setHasOlder] = React.useState(false);
  const [busy, setBusy] = React.useState(false);
  const [error, setError] = React.useState<string | null>(null);
  const [filter, setFilter] = React.useState<IAuditFilter>(EMPTY_FILTER);
  const [shown, setShown] = React.useState(AUDIT_ROWS_PER_PAGE);
  const baseId = React.useId();

  const load = React.useCallback(
    async (step: () => Promise<void>): Promise<void> => {
      setBusy(true);
      setError(null);
      try {
        await step();
      } catch (failure) {
        setError(errorMessage(failure));
      } finally {
        setEvents(log.events);
        setHasOlder(log.hasOlder);
        setBusy(false);
      }
    },
    [log]
  );

  React.useEffect(() => {
    void load(() => log.loadNewest());
  }, [log, load]);

  // A time filter reaches back as far as its start, within a bounded number of requests.
  React.useEffect(() => {
    if (filter.since !== null && log.hasOlder) {
      const since = filter.since;
      void load(() => log.loadBackTo(since, AUDIT_MAX_PAGES_BACK));
    }
  }, [filter.since, log, load]);

  const matches = React.useMemo(() => filterEvents(events, filter), [events, filter]);
  const actions = React.useMemo(() => actionChoices(events), [events]);
  const update = (change: Partial<IAuditFilter>): void => {
    setFilter(current => ({ ...current, ...change }));
    setShown(AUDIT_ROWS_PER_PAGE);
  };
  const id = (suffix: string): string => `${baseId}-${suffix}`;
  const refreshLabel = trans.__('Reload the audit log');

  return (
    <div className="wd-audit-view" data-testid="wd-audit-view">
      <form
        className="wd-audit-filters"
        aria-label={trans.__('Filter the audit log')}
        onSubmit={event => event.preventDefault()}
      >
        <div className="wd-audit-filter">
          <label htmlFor={id('action')}>{trans.__('Action')}</label>
          <select
            id={id('action')}
            className="jp-mod-styled"
            data-testid="wd-audit-action"
            value={filter.action}
            onChange={event => update({ action: event.target.value })}
          >
            <option value="">{trans.__('All actions')}</option>
            {actions.map(action => (
              <option key={action} value={action}>
                {action}
              </option>
            ))}
          </select>
        </div>
        <div className="wd-audit-filter wd-audit-mod-grow">
          <label htmlFor={id('text')}>{trans.__('Contains')}</label>
          <input
            id={id('text')}
            className="jp-mod-styled"
            data-testid="wd-audit-text"
            type="search"
            spellCheck={false}
            value={filter.text}
            onChange={event => update({ text: event.target.value })}
          />
        </div>
        <div className="wd-audit-filter">
          <label htmlFor={id('since')}>{trans.__('From')}</label>
          <input
            id={id('since')}
            className="jp-mod-styled"
            data-testid="wd-audit-since"
            type="datetime-local"
            onChange={event => update({ since: timeOf(event.target.value) })}
          />
        </div>
        <div className="wd-audit-filter">
          <label htmlFor={id('until')}>{trans.__('Until')}</label>
          <input
            id={id('until')}
            className="jp-mod-styled"
            data-testid="wd-audit-until"
            type="datetime-local"
            onChange={event => update({ until: timeOf(event.target.value) })}
          />
        </div>
      </form>
      <div className="wd-audit-status">
        <p className="wd-audit-summary" role="status" data-testid="wd-audit-summary">
          {busy
            ? trans.__('Loading the audit log…')
            : trans.__(
                '%1 of %2 events read match.%3',
                matches.length,
                events.length,
                hasOlder ? ' ' + trans.__('Older events are on the server.') : ''
              )}
        </p>
        <button
          type="button"
          className="jp-WatchdogLab-iconButton wd-audit-refresh"
          data-testid="wd-audit-refresh"
          title={refreshLabel}
          aria-label={refreshLabel}
          disabled={busy}
          onClick={() => void load(() => log.loadNewest())}
        >
          <refreshIcon.react tag="span" className="jp-WatchdogLab-iconButtonIcon" />
        </button>
      </div>
      {error !== null && (
        <p className="wd-audit-error" role="alert" data-testid="wd-audit-error">
          {error}
        </p>
      )}
      <table className="wd-audit-table" data-testid="wd-audit-table">
        <thead>
          <tr>
            <th scope="col">{trans.__('Time')}</th>
            <th scope="col">{trans.__('Action')}</th>
            <th scope="col">{trans.__('Details')}</th>
          </tr>
        </thead>
        <tbody>
          {matches.slice(0, shown).map(event => (
            <tr key={event.seq} data-testid="wd-audit-row" data-event={event.event}>
              <td className="wd-audit-time">
                <time dateTime={new Date(event.ts * MS_PER_SECOND).toISOString()}>
                  {new Date(event.ts * MS_PER_SECOND).toLocaleString()}
                </time>
              </td>
              <td className="wd-audit-action">{event.event}</td>
              <td>
                <div className="wd-audit-details">
                  {event.note !== null && <span className="wd-audit-note">{event.note}</span>}
                  {detailPairs(event).map(([key, value]) => (
                    <span key={key} className="wd-audit-pair">
                      <span className="wd-audit-key">{key}</span> {value}
                    </span>
                  ))}
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="wd-audit-more">
        {matches.length > shown && (
          <button
            type="button"
            className="jp-mod-styled"
            data-testid="wd-audit-show-more"
            onClick={() => setShown(count => count + AUDIT_ROWS_PER_PAGE)}
          >
            {trans.__('Show %1 more', Math.min(AUDIT_ROWS_PER_PAGE, matches.length - shown))}
          </button>
        )}
        {hasOlder && (
          <button
            type="button"
            className="jp-mod-styled"
            data-testid="wd-audit-older"
            disabled={busy}
            onClick={() => void load(() => log.loadOlder())}
          >
            {trans.__('Read older events')}
          </button>
        )}
      </div>
    </div>
  );
}

/** A `datetime-local` value as milliseconds since the epoch (local time); empty: no bound. */
function timeOf(value: string): number | null {
  if (!value) {
    return null;
  }
  const time = new Date(value).getTime();
  return Number.isNaN(time) ? null : time;
}
