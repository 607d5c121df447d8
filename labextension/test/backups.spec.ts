import { formatSize, parseBackupListing } from '../src/components/backups/backups';
import { failure, FakeServer, json } from './fakeServer';

const ENTRY = {
  id: '20261207T010000Z-a',
  created_at: '2026-12-07T01:00:00Z',
  size_bytes: 4096,
  reason: 'automatic'
};

function listing(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    backups: [ENTRY],
    retention_days: 30,
    automatic: true,
    last_automatic_at: '2026-12-07T01:00:00Z',
    last_error: null,
    ...overrides
  };
}

describe('Backups API', () => {
  it('reads the listing with its times as dates and the newest snapshot first', async () => {
    const older = { ...ENTRY, id: 'older', created_at: '2026-12-01T00:00:00Z' };
    const server = FakeServer.answering(200, listing({ backups: [older, ENTRY] }));

    const answer = await server.client().listBackups();

    expect(answer.backups.map(backup => backup.id)).toEqual([ENTRY.id, 'older']);
    expect(answer.backups[0]).toEqual({
      id: ENTRY.id,
      createdAt: new Date('2026-12-07T01:00:00Z'),
      sizeBytes: 4096,
      reason: 'automatic'
    });
    expect(answer.retentionDays).toBe(30);
    expect(answer.automatic).toBe(true);
    expect(answer.lastAutomaticAt).toEqual(new Date('2026-12-07T01:00:00Z'));
    expect(answer.lastError).toBeNull();
    expect(server.calls()).toEqual(['GET /watchdog-lab/backups']);
  });

  it('says to reload when a listing cannot be read', async () => {
    const server = FakeServer.answering(200, listing({ backups: [{ ...ENTRY, created_at: 7 }] }));

    const error = await failure(server.client().listBackups());

    expect(error.message).toContain('does not know');
  });

  it('sends each action to its route, the password only in the restore body', async () => {
    const server = new FakeServer();
    server.routes.set('POST backups', () => json(ENTRY, 201));
    server.routes.set('POST backups/a%2Fb/verify', () =>
      json({ id: 'a/b', ok: true, problems: [], checked_files: 2 })
    );
    server.routes.set('POST backups/a%2Fb/restore', () =>
      json({ id: 'a/b', restored_from: 'a/b', safety_backup: 's', connections: 1, bots: 0 })
    );
    const api = server.client();

    await api.createBackup();
    await api.verifyBackup('a/b');
    const restored = await api.restoreBackup('a/b', 'secret words');

    expect(server.sentWith('method', 'path', 'body')).toEqual([
      { method: 'POST', path: '/watchdog-lab/backups', body: {} },
      { method: 'POST', path: '/watchdog-lab/backups/a%2Fb/verify', body: {} },
      {
        method: 'POST',
        path: '/watchdog-lab/backups/a%2Fb/restore',
        body: { password: 'secret words' }
      }
    ]);
    expect(restored).toEqual({
      id: 'a/b',
      restoredFrom: 'a/b',
      safetyBackup: 's',
      connections: 1,
      bots: 0
    });
  });

  it("gives a refusal in the server's own words", async () => {
    const message = 'A bot is running: stop it before restoring.';
    const server = FakeServer.answering(409, { reason: 'bot_running', message });

    const error = await failure(server.client().restoreBackup('x', 'pw'));

    expect(error.status).toBe(409);
    expect(error.message).toBe(message);
  });
});

describe('Backup words', () => {
  it.each([
    [0, '0 B'],
    [812, '812 B'],
    [1536, '1.5 KiB'],
    [5 * 1024 * 1024, '5 MiB'],
    [3.25 * 1024 ** 3, '3.3 GiB']
  ])('writes %d bytes as %s', (bytes, text) => {
    expect(formatSize(bytes)).toBe(text);
  });

  it('keeps an empty last error as none', () => {
    expect(parseBackupListing(listing({ last_error: '' }))?.lastError).toBeNull();
  });
});
