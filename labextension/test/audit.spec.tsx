import { ServerConnection } from '@jupyterlab/services';
import { nullTranslator } from '@jupyterlab/translation';
import * as React from 'react';

import {
  actionChoices,
  AuditLog,
  EMPTY_FILTER,
  filterEvents,
  IAuditEvent,
  matchesFilter,
  parseAuditPage
} from '../src/components/audit/audit';
import { AUDIT_ROWS_PER_PAGE, AuditView } from '../src/components/audit/AuditView';
import { WatchdogApiClient } from '../src/api';
import { TRANSLATION_DOMAIN } from '../src/translation';
import { FakeServer, json, waitFor } from './fakeServer';
import { byTestId, disposeMounted, mountNode } from './render';

const trans = nullTranslator.load(TRANSLATION_DOMAIN);
const T0 = 1_765_000_000; // seconds

function event(seq: number, name: string, extra: Partial<IAuditEvent> = {}): IAuditEvent {
  return {
    seq,
    ts: T0 + seq * 60,
    event: name,
    connectionId: null,
    note: null,
    detail: null,
    ...extra
  };
}

const EVENTS = [
  event(4, 'kernel.revoked', { detail: { connection: 'exchange', reason: 'revoked' } }),
  event(3, 'kernel.granted', { detail: { connection: 'exchange', notebook: 'research.ipynb' } }),
  event(2, 'vault.unlock_failed', { note: 'wrong password' }),
  event(1, 'vault.created')
];

afterEach(disposeMounted);

describe('the audit filter', () => {
  const seqs = (filter: Partial<typeof EMPTY_FILTER>): number[] =>
    filterEvents(EVENTS, { ...EMPTY_FILTER, ...filter }).map(e => e.seq);

  it('lets everything through when empty', () => {
    expect(seqs({})).toEqual([4, 3, 2, 1]);
  });

  it('keeps one action, or a whole family of them', () => {
    expect(seqs({ action: 'kernel.granted' })).toEqual([3]);
    expect(seqs({ action: 'kernel' })).toEqual([4, 3]);
    expect(seqs({ action: 'kern' })).toEqual([]);
  });

  it('looks for every word, ignoring case, in the event, note and details', () => {
    expect(seqs({ text: 'EXCHANGE' })).toEqual([4, 3]);
    expect(seqs({ text: 'exchange research' })).toEqual([3]);
    expect(seqs({ text: 'wrong' })).toEqual([2]);
  });

  it('keeps a time range, its start included and its end left out', () => {
    const at = (seq: number): number => (T0 + seq * 60) * 1000;
    expect(seqs({ since: at(2), until: at(4) })).toEqual([3, 2]);
    expect(matchesFilter(EVENTS[0], { ...EMPTY_FILTER, since: at(4) + 1 })).toBe(false);
  });

  it('offers each family and each action seen', () => {
    expect(actionChoices(EVENTS)).toEqual([
      'kernel',
      'kernel.granted',
      'kernel.revoked',
      'vault',
      'vault.created',
      'vault.unlock_failed'
    ]);
  });
});

function wire(e: IAuditEvent): object {
  return {
    seq: e.seq,
    ts: e.ts,
    event: e.event,
    connection_id: e.connectionId,
    note: e.note,
    detail: e.detail
  };
}

/**
 * A client of a server holding `count` events (seq 1..count), paged as the real route pages
 * them: `limit` newest first, below `before`.
 */
function auditClient(count: number): WatchdogApiClient {
  const server = new FakeServer();
  const all = Array.from({ length: count }, (_, i) => count - i).map(seq =>
    event(seq, seq % 2 ? 'vault.unlocked' : 'kernel.granted')
  );
  let asked = new URL(server.baseUrl);
  server.routes.set('audit', () => {
    const limit = Number(asked.searchParams.get('limit'));
    const before = Number(asked.searchParams.get('before') ?? Infinity);
    const older = all.filter(e => e.seq < before);
    const events = older.slice(0, limit);
    const more = older.length > limit;
    return json({ events: events.map(wire), next_before: more ? events.at(-1)!.seq : null });
  });
  // The fake server routes by path; the query is read here, on the way in.
  const inner = server.settings();
  const settings = ServerConnection.makeSettings({
    baseUrl: server.baseUrl,
    fetch: (input: RequestInfo | URL, init?: RequestInit) => {
      asked = new URL(new Request(input, init).url);
      return inner.fetch(input as RequestInfo, init);
    }
  });
  return new WatchdogApiClient({ serverSettings: settings });
}

describe('AuditLog', () => {
  it('reads the newest page, then older pages on request', async () => {
    const log = new AuditLog(auditClient(5), 2);
    await log.loadNewest();
    expect(log.events.map(e => e.seq)).toEqual([5, 4]);
    expect(log.hasOlder).toBe(true);
    await log.loadOlder();
    await log.loadOlder();
    expect(log.events.map(e => e.seq)).toEqual([5, 4, 3, 2, 1]);
    expect(log.hasOlder).toBe(false);
  });

  it('reads back as far as a time filter starts, and no further', async () => {
    const log = new AuditLog(auditClient(10), 2);
    await log.loadNewest();
    await log.loadBackTo((T0 + 6 * 60) * 1000, 20);
    expect(log.events.at(-1)!.seq).toBe(5);
    expect(log.hasOlder).toBe(true);
  });

  it('refuses a page this version cannot read', () => {
    expect(parseAuditPage({ events: [{ seq: '1' }], next_before: null })).toBeNull();
  });
});

describe('AuditView', () => {
  it('filters the rows by action and draws a long trail a page at a time', async () => {
    const node = await mountNode(
      <AuditView api={auditClient(AUDIT_ROWS_PER_PAGE + 5)} trans={trans} />
    );
    const rows = (): number => node.querySelectorAll('[data-testid="wd-audit-row"]').length;
    await waitFor(() => rows() === AUDIT_ROWS_PER_PAGE);
    byTestId(node, 'wd-audit-show-more').click();
    await waitFor(() => rows() === AUDIT_ROWS_PER_PAGE + 5);

    const select = byTestId<HTMLSelectElement>(node, 'wd-audit-action');
    select.value = 'vault';
    select.dispatchEvent(new Event('change', { bubbles: true }));
    await waitFor(() => rows() === 53);
    expect(byTestId(node, 'wd-audit-summary').textContent).toContain('53 of 105');
    const shown = Array.from(node.querySelectorAll('[data-testid="wd-audit-row"]'));
    expect(new Set(shown.map(row => row.getAttribute('data-event')))).toEqual(
      new Set(['vault.unlocked'])
    );
  });

  it("shows the server's message when the trail cannot be read", async () => {
    const server = FakeServer.answering(423, {
      reason: 'vault_locked',
      message: 'The vault is locked. Unlock it first.'
    });
    const node = await mountNode(<AuditView api={server.client()} trans={trans} />);
    await waitFor(() => node.querySelector('[data-testid="wd-audit-error"]') !== null);
    expect(byTestId(node, 'wd-audit-error').textContent).toBe(
      'The vault is locked. Unlock it first.'
    );
  });
});
