/**
 * The vault's audit trail as the audit view holds it: events read page by page (newest first)
 * and the filter the user types, applied in the browser.
 *
 * Events never carry a secret value (the server records names, ids and outcomes only), so
 * keeping pages of them in memory is safe. The filter is pure so a unit test holds it.
 */
import { WatchdogApiClient } from '../../api';

/** One audit event; `ts` in seconds since the epoch, as the server records it. */
export interface IAuditEvent {
  seq: number;
  ts: number;
  event: string;
  connectionId: string | null;
  note: string | null;
  detail: Record<string, unknown> | null;
}

/** One page of `GET audit`: events newest first; `nextBefore` asks for the older ones. */
export interface IAuditPage {
  events: IAuditEvent[];
  nextBefore: number | null;
}

/** What the user filters on; empty fields match everything. */
export interface IAuditFilter {
  /** An event name (`kernel.granted`) or a family (`kernel`). */
  action: string;
  /** Words looked for, ignoring case, in the event, its note, its connection and details. */
  text: string;
  /** Only events at or after this time (milliseconds since the epoch). */
  since: number | null;
  /** Only events before this time (milliseconds since the epoch). */
  until: number | null;
}

export const EMPTY_FILTER: Readonly<IAuditFilter> = {
  action: '',
  text: '',
  since: null,
  until: null
};

const MS_PER_SECOND = 1000;

/** Whether `event` passes `filter`. */
export function matchesFilter(event: IAuditEvent, filter: IAuditFilter): boolean {
  const action = filter.action.trim();
  if (action && event.event !== action && !event.event.startsWith(`${action}.`)) {
    return false;
  }
  const at = event.ts * MS_PER_SECOND;
  if (filter.since !== null && at < filter.since) {
    return false;
  }
  if (filter.until !== null && at >= filter.until) {
    return false;
  }
  const words = filter.text.trim().toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) {
    return true;
  }
  const haystack = searchableText(event);
  return words.every(word => haystack.includes(word));
}

/** The events of `events` that pass `filter`, in their order. */
export function filterEvents(events: readonly IAuditEvent[], filter: IAuditFilter): IAuditEvent[] {
  return events.filter(event => matchesFilter(event, filter));
}

/** The choices of the action filter: each family (`kernel`) then each event name, sorted. */
export function actionChoices(events: readonly IAuditEvent[]): string[] {
  const names = new Set<string>();
  for (const { event } of events) {
    names.add(event);
    const dot = event.indexOf('.');
    if (dot > 0) {
      names.add(event.slice(0, dot));
    }
  }
  return Array.from(names).sort();
}

/** An event's details as `key: value` pairs, values as text, for display and search. */
export function detailPairs(event: IAuditEvent): [string, string][] {
  if (event.detail === null) {
    return [];
  }
  return Object.entries(event.detail).map(([key, value]) => [
    key,
    typeof value === 'string' ? value : JSON.stringify(value)
  ]);
}

function searchableText(event: IAuditEvent): string {
  const parts = [event.event, event.note ?? '', event.connectionId ?? ''];
  for (const [key, value] of detailPairs(event)) {
    parts.push(key, value);
  }
  return parts.join('\n').toLowerCase();
}

/** An audit page from the wire, or `null` when this version cannot read it. */
export function parseAuditPage(value: unknown): IAuditPage | null {
  if (!isObject(value) || !Array.isArray(value.events)) {
    return null;
  }
  const next = value.next_before;
  if (!(typeof next === 'number' || next === null)) {
    return null;
  }
  const events: IAuditEvent[] = [];
  for (const item of value.events) {
    if (
      !isObject(item) ||
      typeof item.seq !== 'number' ||
      typeof item.ts !== 'number' ||
      typeof item.event !== 'string'
    ) {
      return null;
    }
    const { connection_id, note, detail } = item;
    events.push({
      seq: item.seq,
      ts: item.ts,
      event: item.event,
      connectionId: typeof connection_id === 'string' ? connection_id : null,
      note: typeof note === 'string' ? note : null,
      detail: isObject(detail) ? detail : null
    });
  }
  return { events, nextBefore: next };
}

/** Events read so far, newest first, and whether older ones remain on the server. */
export class AuditLog {
  constructor(
    private readonly _api: WatchdogApiClient,
    /** Events asked for per request (the server accepts up to 500). */
    readonly pageSize: number
  ) {}

  get events(): readonly IAuditEvent[] {
    return this._events;
  }

  /** Older events remain on the server. */
  get hasOlder(): boolean {
    return this._nextBefore !== null;
  }

  /** Start over from the newest event. */
  async loadNewest(): Promise<void> {
    const page = await this._api.auditPage(this.pageSize);
    this._events = page.events;
    this._nextBefore = page.nextBefore;
  }

  /** Add the next older page. */
  async loadOlder(): Promise<void> {
    if (this._nextBefore === null) {
      return;
    }
    const page = await this._api.auditPage(this.pageSize, this._nextBefore);
    const seen = new Set(this._events.map(event => event.seq));
    this._events = [...this._events, ...page.events.filter(event => !seen.has(event.seq))];
    this._nextBefore = page.nextBefore;
  }

  /**
   * Read older pages until the events reach back to `since` (milliseconds since the epoch)
   * or none remain, at most `maxPages` requests: a time filter then sees every event of its
   * range that the pages hold.
   */
  async loadBackTo(since: number, maxPages: number): Promise<void> {
    for (let page = 0; page < maxPages && this.hasOlder; page++) {
      const oldest = this._events[this._events.length - 1];
      if (oldest !== undefined && oldest.ts * MS_PER_SECOND < since) {
        return;
      }
      await this.loadOlder();
    }
  }

  private _events: IAuditEvent[] = [];
  private _nextBefore: number | null = null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
