import { nullTranslator } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import { WatchdogApiClient } from '../src/api';
import { IRestoreResult } from '../src/components/backups/backups';
import { BackupsSection } from '../src/components/backups/BackupsSection';
import { VaultModel, VaultStatus } from '../src/model';
import { TRANSLATION_DOMAIN } from '../src/translation';
import { WatchdogSidebar } from '../src/widget';
import { Answer, FakeServer, json, waitFor } from './fakeServer';
import { byTestId, disposeMounted, everything, mountNode } from './render';

const trans = nullTranslator.load(TRANSLATION_DOMAIN);
const PASSWORD = 'correct horse battery staple';
const UNLOCKED: VaultStatus = { kind: 'ready', state: 'unlocked' };
const LOCKED: VaultStatus = { kind: 'ready', state: 'locked' };
const HOUR_MS = 3600 * 1000;

const OLDER = {
  id: '0a1b2c3d4e5f6071',
  created_at: new Date(Date.now() - 26 * HOUR_MS).toISOString(),
  size_bytes: 812,
  reason: 'daily'
};
const NEWER = {
  id: '1b2c3d4e5f607182',
  created_at: new Date(Date.now() - 3 * HOUR_MS).toISOString(),
  size_bytes: 1536,
  reason: 'manual'
};

/** A backups server in memory: the contract's routes over a list it keeps. */
class BackupsServer extends FakeServer {
  backups: Record<string, unknown>[] = [OLDER, NEWER];
  lastError: string | null = null;
  /** What a POST to each route answers instead of its success, when set. */
  refuse = new Map<string, () => Answer>();
  verification: Record<string, unknown> = { ok: true, problems: [], checked_files: 3 };
  /** What a restore answers as the snapshot of the state it replaced ('' when none). */
  safetyBackup = '3d4e5f6071829304';
  /** The page's HTML and input values at the moment each restore request arrived. */
  pageAtRestore: string[] = [];

  constructor() {
    super();
    this.routes.set('GET backups', () =>
      json({
        backups: [...this.backups].reverse(),
        retention_days: 30,
        automatic: true,
        last_automatic_at: OLDER.created_at,
        last_error: this.lastError
      })
    );
    this.routes.set(
      'POST backups',
      () =>
        this.refuse.get('create')?.() ??
        (() => {
          const created = {
            id: '2c3d4e5f60718293',
            created_at: new Date().toISOString(),
            size_bytes: 2048,
            reason: 'manual'
          };
          this.backups.push(created);
          return json(created, 201);
        })()
    );
    for (const backup of [OLDER, NEWER]) {
      this.routes.set(`POST backups/${backup.id}/verify`, () =>
        json({ id: backup.id, ...this.verification })
      );
      this.routes.set(`POST backups/${backup.id}/restore`, () => {
        this.pageAtRestore.push(everything(document.body));
        return (
          this.refuse.get('restore')?.() ??
          json({
            id: backup.id,
            restored_from: backup.created_at,
            safety_backup: this.safetyBackup,
            connections: 2,
            bots: 1
          })
        );
      });
    }
  }
}

function card(
  server: FakeServer,
  vault: VaultStatus = UNLOCKED,
  onRestored?: (result: IRestoreResult) => void
): Promise<HTMLElement> {
  return mountNode(
    <BackupsSection
      api={server.client()}
      vault={vault}
      active={true}
      interval={60_000}
      trans={trans}
      onRestored={onRestored}
    />
  );
}

function items(node: HTMLElement): HTMLElement[] {
  return Array.from(node.querySelectorAll<HTMLElement>('[data-testid="wd-backup-item"]'));
}

async function listed(node: HTMLElement, count: number): Promise<HTMLElement[]> {
  await waitFor(() => items(node).length === count);
  return items(node);
}

function itemFor(node: HTMLElement, id: string): HTMLElement {
  const found = items(node).find(item => item.dataset.id === id);
  expect(found).toBeDefined();
  return found!;
}

async function openRestore(node: HTMLElement, id: string): Promise<HTMLInputElement> {
  byTestId(itemFor(node, id), 'wd-backup-restore').click();
  await waitFor(() => node.querySelector('[data-testid="wd-backup-restore-form"]') !== null);
  return byTestId<HTMLInputElement>(node, 'wd-backup-restore-password');
}

function submitRestore(node: HTMLElement): void {
  byTestId(node, 'wd-backup-restore-form').dispatchEvent(
    new Event('submit', { bubbles: true, cancelable: true })
  );
}

afterEach(disposeMounted);

describe('Backups card', () => {
  it('lists the snapshots newest first with their time, size and reason', async () => {
    const node = await card(new BackupsServer());
    const [first, second] = await listed(node, 2);

    expect(first.dataset.id).toBe(NEWER.id);
    expect(second.dataset.id).toBe(OLDER.id);
    const time = byTestId(first, 'wd-backup-time');
    expect(time.textContent).toBe('3 hours ago');
    expect(time.getAttribute('title')).toBe(new Date(NEWER.created_at).toLocaleString());
    expect(time.getAttribute('datetime')).toBe(new Date(NEWER.created_at).toISOString());
    expect(byTestId(first, 'wd-backup-size').textContent).toBe('1.5 KiB');
    expect(byTestId(second, 'wd-backup-size').textContent).toBe('812 B');
    expect(byTestId(first, 'wd-backup-reason').textContent).toBe('Manual');
    expect(byTestId(second, 'wd-backup-reason').textContent).toBe('Daily');
  });

  it('shows the retention, the automatic backups and when the last one was taken', async () => {
    const node = await card(new BackupsServer());
    await listed(node, 2);

    expect(byTestId(node, 'wd-backup-retention').textContent).toBe('30 days');
    expect(byTestId(node, 'wd-backup-automatic').textContent).toBe('On');
    expect(byTestId(node, 'wd-backup-last-automatic-time').textContent).toBe('yesterday');
    expect(node.querySelector('[data-testid="wd-backup-last-error"]')).toBeNull();
  });

  it("warns with the server's words when the last automatic backup failed", async () => {
    const server = new BackupsServer();
    server.lastError = 'No space left on the device holding the backups.';
    const node = await card(server);
    await listed(node, 2);

    const warning = byTestId(node, 'wd-backup-last-error');
    expect(warning.textContent).toBe('No space left on the device holding the backups.');
    expect(warning.getAttribute('role')).toBe('alert');
  });

  it('backs up now and lists the new snapshot first', async () => {
    const server = new BackupsServer();
    const node = await card(server);
    await listed(node, 2);

    byTestId(node, 'wd-backup-create').click();
    const [first] = await listed(node, 3);

    expect(first.dataset.id).toBe('2c3d4e5f60718293');
    expect(byTestId(node, 'wd-backup-created').textContent).toBe('Backed up as 2c3d4e5f60718293.');
    expect(server.sentWith('method', 'path', 'body').filter(r => r.method === 'POST')).toEqual([
      { method: 'POST', path: '/watchdog-lab/backups', body: {} }
    ]);
  });

  it("shows the server's message when a backup is refused", async () => {
    const server = new BackupsServer();
    const message = 'The vault is locked: unlock it to take a backup.';
    server.refuse.set('create', () => json({ reason: 'vault_locked', message }, 409));
    const node = await card(server);
    await listed(node, 2);

    byTestId(node, 'wd-backup-create').click();
    await waitFor(() => node.querySelector('[data-testid="wd-backup-create-error"]') !== null);

    expect(byTestId(node, 'wd-backup-create-error').textContent).toBe(message);
    expect(items(node)).toHaveLength(2);
  });

  it('disables back up and verify while the vault is locked, saying why', async () => {
    const server = new BackupsServer();
    const node = await card(server, LOCKED);
    await listed(node, 2);

    const create = byTestId<HTMLButtonElement>(node, 'wd-backup-create');
    expect(create.disabled).toBe(true);
    const reason = document.getElementById(create.getAttribute('aria-describedby')!);
    expect(reason?.textContent).toBe('Unlock the vault above to back up now or verify a backup.');
    for (const item of items(node)) {
      expect(byTestId<HTMLButtonElement>(item, 'wd-backup-verify').disabled).toBe(true);
      // The password in the restore form opens the locked vault to save it first.
      expect(byTestId<HTMLButtonElement>(item, 'wd-backup-restore').disabled).toBe(false);
    }
    create.click();
    expect(server.calls().filter(call => call.startsWith('POST'))).toEqual([]);
  });

  it('says a verified snapshot is intact and how many files were checked', async () => {
    const server = new BackupsServer();
    const node = await card(server);
    await listed(node, 2);

    byTestId(itemFor(node, OLDER.id), 'wd-backup-verify').click();
    await waitFor(() => node.querySelector('[data-testid="wd-backup-verified"]') !== null);

    const result = byTestId(itemFor(node, OLDER.id), 'wd-backup-verified');
    expect(result.dataset.ok).toBe('true');
    expect(result.textContent).toBe('Intact: 3 files checked.');
    expect(server.calls()).toContain(`POST /watchdog-lab/backups/${OLDER.id}/verify`);
  });

  it("lists each problem of a damaged snapshot in the server's words", async () => {
    const server = new BackupsServer();
    server.verification = {
      ok: false,
      problems: ['vault.db: authentication tag mismatch', 'manifest.json: missing'],
      checked_files: 2
    };
    const node = await card(server);
    await listed(node, 2);

    byTestId(itemFor(node, NEWER.id), 'wd-backup-verify').click();
    await waitFor(() => node.querySelector('[data-testid="wd-backup-verified"]') !== null);

    const result = byTestId(itemFor(node, NEWER.id), 'wd-backup-verified');
    expect(result.dataset.ok).toBe('false');
    expect(
      Array.from(result.querySelectorAll('[data-testid="wd-backup-problem"]')).map(
        problem => problem.textContent
      )
    ).toEqual(['vault.db: authentication tag mismatch', 'manifest.json: missing']);
  });

  it('explains a restore before asking for the password', async () => {
    const node = await card(new BackupsServer());
    await listed(node, 2);
    await openRestore(node, OLDER.id);

    const form = byTestId(node, 'wd-backup-restore-form');
    const explanation = document.getElementById(form.getAttribute('aria-describedby')!);
    expect(explanation?.textContent).toContain('A backup of the current state is taken first');
    expect(explanation?.textContent).toContain('Running bots must be stopped first.');
    expect(
      byTestId(itemFor(node, OLDER.id), 'wd-backup-restore').getAttribute('aria-expanded')
    ).toBe('true');
  });

  it('restores with the password sent once from an emptied input, and shows the result', async () => {
    const server = new BackupsServer();
    const restored: IRestoreResult[] = [];
    const node = await card(server, UNLOCKED, result => restored.push(result));
    await listed(node, 2);
    const password = await openRestore(node, OLDER.id);

    password.value = PASSWORD;
    submitRestore(node);
    expect(password.value).toBe('');
    await waitFor(() => restored.length === 1);

    const bodies = server.sent.filter(request => JSON.stringify(request.body).includes(PASSWORD));
    expect(bodies.map(request => `${request.method} ${request.path}`)).toEqual([
      `POST /watchdog-lab/backups/${OLDER.id}/restore`
    ]);
    expect(bodies[0].body).toEqual({ password: PASSWORD });
    // The page held no copy of the password while the request was on its way, nor after.
    expect(server.pageAtRestore).toHaveLength(1);
    expect(server.pageAtRestore[0]).not.toContain(PASSWORD);
    await waitFor(() => node.querySelector('[data-testid="wd-backup-restored"]') !== null);
    expect(everything(node)).not.toContain(PASSWORD);
    expect(node.querySelector('[data-testid="wd-backup-restore-form"]')).toBeNull();
    expect(byTestId(node, 'wd-backup-restored').textContent).toContain(
      `Restored the backup of ${new Date(OLDER.created_at).toLocaleString()}: 2 connections and 1 bot.`
    );
    expect(byTestId(node, 'wd-backup-safety').textContent).toBe(
      'The state before the restore was saved as backup 3d4e5f6071829304; restore it to undo.'
    );
    expect(restored[0].safetyBackup).toBe('3d4e5f6071829304');
  });

  it('restores into a home without a vault, with no safety snapshot to name', async () => {
    const server = new BackupsServer();
    server.safetyBackup = '';
    const restored: IRestoreResult[] = [];
    const node = await card(server, { kind: 'ready', state: 'absent' }, result =>
      restored.push(result)
    );
    await listed(node, 2);
    expect(byTestId<HTMLButtonElement>(node, 'wd-backup-create').disabled).toBe(true);
    const password = await openRestore(node, OLDER.id);

    password.value = PASSWORD;
    submitRestore(node);
    await waitFor(() => node.querySelector('[data-testid="wd-backup-restored"]') !== null);

    expect(restored).toHaveLength(1);
    expect(node.querySelector('[data-testid="wd-backup-safety"]')).toBeNull();
  });

  it("keeps the form with the server's message when a restore is refused", async () => {
    const server = new BackupsServer();
    const message = "Stop the running bots before restoring: 'momentum' is running.";
    server.refuse.set('restore', () => json({ reason: 'bot_running', message }, 409));
    const restored: IRestoreResult[] = [];
    const node = await card(server, UNLOCKED, result => restored.push(result));
    await listed(node, 2);
    const password = await openRestore(node, NEWER.id);

    password.value = PASSWORD;
    submitRestore(node);
    await waitFor(() => node.querySelector('[data-testid="wd-backup-restore-error"]') !== null);

    expect(byTestId(node, 'wd-backup-restore-error').textContent).toBe(message);
    expect(password.value).toBe('');
    expect(everything(node)).not.toContain(PASSWORD);
    expect(restored).toEqual([]);
  });

  it('sends nothing when the password is left empty', async () => {
    const server = new BackupsServer();
    const node = await card(server);
    await listed(node, 2);
    await openRestore(node, NEWER.id);

    submitRestore(node);
    await waitFor(() => node.querySelector('[data-testid="wd-backup-restore-error"]') !== null);

    expect(server.calls().filter(call => call.endsWith('/restore'))).toEqual([]);
  });

  it('closes the restore form on Escape, back on its button', async () => {
    const node = await card(new BackupsServer());
    await listed(node, 2);
    const password = await openRestore(node, NEWER.id);
    password.value = PASSWORD;

    password.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));
    await waitFor(() => node.querySelector('[data-testid="wd-backup-restore-form"]') === null);

    expect(password.value).toBe('');
    expect(document.activeElement).toBe(byTestId(itemFor(node, NEWER.id), 'wd-backup-restore'));
  });

  it("shows the server's message when the list cannot be read", async () => {
    const message = 'The backups folder cannot be read: permission denied.';
    const node = await card(FakeServer.answering(500, { reason: 'backup_failed', message }));
    await waitFor(() => node.querySelector('[data-testid="wd-backup-list-error"]') !== null);

    expect(byTestId(node, 'wd-backup-list-error').textContent).toBe(message);
  });
});

describe('Sidebar after a restore', () => {
  let sidebar: WatchdogSidebar | null = null;
  let model: VaultModel | null = null;
  afterEach(() => {
    sidebar?.dispose();
    model?.dispose();
    sidebar = model = null;
  });

  it('asks again for the vault state, the connections and the bots, and says how to unlock', async () => {
    const server = new BackupsServer();
    // The server locks the vault once a restore replaced it.
    server.routes.set('vault', () =>
      json({ state: server.pageAtRestore.length ? 'locked' : 'unlocked', totp_enabled: false })
    );
    server.routes.set('sandbox', () => json({}));
    server.routes.set('connections', () => json({ connections: [] }));
    server.routes.set('kinds', () => json({ kinds: [] }));
    server.routes.set('bots', () => json({ bots: [] }));
    const api = new WatchdogApiClient({ serverSettings: server.settings() });
    model = new VaultModel({ api, polling: { interval: 60_000, backoffLimit: 60_000 } });
    sidebar = new WatchdogSidebar({ model, api });
    Widget.attach(sidebar, document.body);
    sidebar.update();
    const node = sidebar.node;
    await waitFor(() => node.querySelectorAll('[data-testid="wd-backup-item"]').length === 2);
    await waitFor(() => server.calls().includes('GET /watchdog-lab/connections'));
    const before = (path: string) =>
      server.calls().filter(call => call === `GET /watchdog-lab/${path}`).length;
    const counts = {
      vault: before('vault'),
      connections: before('connections'),
      bots: before('bots')
    };

    const password = await openRestore(node, OLDER.id);
    password.value = PASSWORD;
    submitRestore(node);
    await waitFor(() => node.querySelector('[data-testid="wd-backup-restored"]') !== null);

    await waitFor(
      () =>
        before('vault') > counts.vault &&
        before('connections') > counts.connections &&
        before('bots') > counts.bots
    );
    await waitFor(() => node.querySelector('[data-testid="wd-backup-unlock-hint"]') !== null);
    expect(byTestId(node, 'wd-backup-unlock-hint').textContent).toBe(
      'Unlock the vault above with the password it had then.'
    );
  });
});
