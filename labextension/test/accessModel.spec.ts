import { Signal } from '@lumino/signaling';

import { WatchdogApiClient } from '../src/api';
import {
  accessRows,
  IConnectionUsage,
  parseConnectionUsage,
  parseKernelGrants,
  usageLines
} from '../src/components/access/grants';
import { AccessModel, INotebookRef, INotebookSource } from '../src/components/access/model';
import { VaultModel } from '../src/model';
import { FakeServer, json, waitFor } from './fakeServer';

const KERNEL = '0f9e3c2a-1b2c-4d5e-8f90-123456789abc';
const OTHER_KERNEL = '1a2b3c4d-0000-4000-8000-00000000beef';
const EXCHANGE = 'a'.repeat(32);
const NOTES = 'b'.repeat(32);

const USAGE_WIRE = {
  usage: [
    {
      connection_id: EXCHANGE,
      connection: 'exchange',
      bots: ['momentum'],
      kernels: [{ kernel_id: KERNEL, path: 'research.ipynb' }],
      remembered: []
    },
    { connection_id: NOTES, connection: 'notes', bots: [], kernels: [], remembered: [] }
  ]
};

function grantsWire(kernelId: string, granted: string[]): object {
  return {
    kernel_id: kernelId,
    path: 'research.ipynb',
    vault: 'unlocked',
    grants: granted.map(id => ({
      connection_id: id,
      connection: id === EXCHANGE ? 'exchange' : 'notes',
      source: 'ui',
      granted_at: 1,
      remembered: false
    })),
    suggested: []
  };
}

/** A notebook source the test moves by hand, as the notebook tracker would. */
class FakeNotebooks implements INotebookSource {
  current: INotebookRef | null = null;
  changed = new Signal<this, void>(this);

  set(current: INotebookRef | null): void {
    this.current = current;
    this.changed.emit();
  }
}

interface IFixture {
  server: FakeServer;
  model: AccessModel;
  notebooks: FakeNotebooks;
  vault: VaultModel;
  granted: Map<string, string[]>;
}

const disposables: { dispose(): void }[] = [];
afterEach(() => disposables.splice(0).forEach(item => item.dispose()));

async function fixture(state = 'unlocked'): Promise<IFixture> {
  const server = new FakeServer();
  const granted = new Map<string, string[]>([
    [KERNEL, []],
    [OTHER_KERNEL, [NOTES]]
  ]);
  server.routes.set('vault', () => json({ state, totp_enabled: false }));
  server.routes.set('sandbox', () => json({}));
  server.routes.set('connection-usage', () => json(USAGE_WIRE));
  for (const kernel of [KERNEL, OTHER_KERNEL]) {
    server.routes.set(`kernels/${kernel}/grants`, () =>
      json(grantsWire(kernel, granted.get(kernel)!))
    );
    server.routes.set(`POST kernels/${kernel}/grants`, () => {
      granted.set(kernel, [EXCHANGE]);
      return json({}, 201);
    });
    server.routes.set(`DELETE kernels/${kernel}/grants/${EXCHANGE}`, () => {
      granted.set(kernel, []);
      return json({});
    });
  }
  const api = new WatchdogApiClient({ serverSettings: server.settings() });
  const vault = new VaultModel({ api, polling: { interval: 60_000, backoffLimit: 60_000 } });
  const notebooks = new FakeNotebooks();
  const model = new AccessModel({
    api,
    vault,
    notebooks,
    refreshSeconds: 60,
    isActive: () => true
  });
  disposables.push(model, vault);
  await vault.refresh();
  return { server, model, notebooks, vault, granted };
}

describe('the notebook access rows', () => {
  const usage = parseUsage(USAGE_WIRE.usage);

  it('list every connection, on where the kernel holds a grant', () => {
    const grants = parseKernelGrants(grantsWire(KERNEL, [EXCHANGE]));
    expect(accessRows(usage, grants)).toEqual([
      { connectionId: EXCHANGE, name: 'exchange', granted: true, source: 'ui' },
      { connectionId: NOTES, name: 'notes', granted: false, source: null }
    ]);
  });

  it('leave out grants of connections that are gone', () => {
    const grants = parseKernelGrants(grantsWire(KERNEL, ['c'.repeat(32)]));
    expect(accessRows(usage, grants).map(row => row.granted)).toEqual([false, false]);
  });

  it('name notebooks by path and bots by name under a connection', () => {
    expect(usageLines(usage[0])).toEqual({ notebooks: ['research.ipynb'], bots: ['momentum'] });
    expect(usageLines(undefined)).toEqual({ notebooks: [], bots: [] });
  });

  it('name a kernel without a notebook by its id', () => {
    const [entry] = parseUsage([
      { ...USAGE_WIRE.usage[1], kernels: [{ kernel_id: KERNEL, path: null }] }
    ]);
    expect(usageLines(entry).notebooks).toEqual([KERNEL]);
  });

  it('refuse a wire answer this version cannot read', () => {
    expect(parseKernelGrants({ kernel_id: KERNEL, path: 1, grants: [] })).toBeNull();
    expect(parseConnectionUsage({ ...USAGE_WIRE.usage[0], bots: 'momentum' })).toBeNull();
  });
});

describe('AccessModel', () => {
  it('says the vault is locked, and asks nothing, while it is', async () => {
    const { model, server, notebooks } = await fixture('locked');
    notebooks.set({ path: 'research.ipynb', kernelId: KERNEL });
    await model.refresh();
    expect(model.access).toEqual({ kind: 'locked' });
    const asked = server.calls().filter(call => /connection-usage|kernels\//.test(call));
    expect(asked).toEqual([]);
  });

  it('says when no notebook is open', async () => {
    const { model } = await fixture();
    await model.refresh();
    expect(model.access).toEqual({ kind: 'no-notebook' });
    expect(model.usage?.map(entry => entry.connection)).toEqual(['exchange', 'notes']);
  });

  it('says when the notebook has no kernel', async () => {
    const { model, notebooks } = await fixture();
    notebooks.set({ path: 'research.ipynb', kernelId: null });
    await model.refresh();
    expect(model.access).toEqual({ kind: 'no-kernel', path: 'research.ipynb' });
  });

  it("shows the current notebook's grants, and the next notebook's on a switch", async () => {
    const { model, notebooks } = await fixture();
    notebooks.set({ path: 'research.ipynb', kernelId: KERNEL });
    await waitFor(() => model.access.kind === 'ready');
    expect(granted(model)).toEqual([]);

    notebooks.set({ path: 'other.ipynb', kernelId: OTHER_KERNEL });
    expect(model.access.kind).toBe('loading');
    await waitFor(() => model.access.kind === 'ready');
    expect(granted(model)).toEqual(['notes']);
  });

  it('asks again when the kernel restarts (its grants are gone)', async () => {
    const { model, notebooks, granted: held } = await fixture();
    held.set(KERNEL, [EXCHANGE]);
    notebooks.set({ path: 'research.ipynb', kernelId: KERNEL });
    await waitFor(() => granted(model).length === 1);
    held.set(KERNEL, []);
    notebooks.changed.emit();
    await waitFor(() => granted(model).length === 0);
  });

  it('grants with the password in the body to the current kernel, then shows it on', async () => {
    const { model, notebooks, server } = await fixture();
    notebooks.set({ path: 'research.ipynb', kernelId: KERNEL });
    await waitFor(() => model.access.kind === 'ready');

    await model.grant(EXCHANGE, 'the vault password');

    const sent = server.sent.find(request => request.method === 'POST')!;
    expect(sent.path).toBe(`/watchdog-lab/kernels/${KERNEL}/grants`);
    expect(sent.body).toEqual({ connection: EXCHANGE, password: 'the vault password' });
    expect(granted(model)).toEqual(['exchange']);
    expect(JSON.stringify(model.access)).not.toContain('the vault password');
  });

  it('revokes without a password, then shows it off', async () => {
    const { model, notebooks, server, granted: held } = await fixture();
    held.set(KERNEL, [EXCHANGE]);
    notebooks.set({ path: 'research.ipynb', kernelId: KERNEL });
    await waitFor(() => granted(model).length === 1);

    await model.revoke(EXCHANGE);

    expect(server.calls()).toContain(`DELETE /watchdog-lab/kernels/${KERNEL}/grants/${EXCHANGE}`);
    expect(granted(model)).toEqual([]);
  });

  it("shows the server's message when the kernel's grants cannot be read", async () => {
    const { model, notebooks, server } = await fixture();
    server.routes.set(`kernels/${KERNEL}/grants`, () =>
      json({ reason: 'kernel_not_found', message: 'No kernel with that id runs here.' }, 404)
    );
    notebooks.set({ path: 'research.ipynb', kernelId: KERNEL });
    await waitFor(() => model.access.kind === 'error');
    expect(model.access).toMatchObject({ message: 'No kernel with that id runs here.' });
  });

  it('forgets the usage when the vault locks', async () => {
    const { model, vault, server } = await fixture();
    await model.refresh();
    expect(model.usage).not.toBeNull();
    server.routes.set('vault', () => json({ state: 'locked', totp_enabled: false }));
    await vault.refresh();
    expect(model.usage).toBeNull();
    expect(model.access).toEqual({ kind: 'locked' });
  });
});

function granted(model: AccessModel): string[] {
  const access = model.access;
  return access.kind === 'ready' ? access.rows.filter(r => r.granted).map(r => r.name) : [];
}

function parseUsage(items: unknown[]): IConnectionUsage[] {
  return items.map(item => parseConnectionUsage(item)!);
}
