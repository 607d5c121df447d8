/**
 * The plugins as JupyterLab starts them: through lumino's plugin registry, which hands each
 * plugin the services its tokens ask for, with JupyterLab's real setting registry.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { ISettingRegistry, SettingRegistry } from '@jupyterlab/settingregistry';
import type { IDataConnector } from '@jupyterlab/statedb';
import { CommandRegistry } from '@lumino/commands';
import { PluginRegistry } from '@lumino/coreutils';
import { Widget } from '@lumino/widgets';

import schema from '../schema/plugin.json';
import plugins, { CommandIDs, CORE_PLUGIN_ID, IWatchdogLab } from '../src/index';
import { FakeServer, json, waitFor } from './fakeServer';

const VAULT = '/watchdog-lab/vault';

/** Stored user settings of the core plugin, as the server's settings API would keep them. */
class MemorySettings implements IDataConnector<ISettingRegistry.IPlugin, string> {
  constructor(public raw = '{}') {}

  async fetch(id: string): Promise<ISettingRegistry.IPlugin | undefined> {
    if (id !== CORE_PLUGIN_ID) {
      return undefined;
    }
    return {
      id,
      raw: this.raw,
      schema: schema as unknown as ISettingRegistry.ISchema,
      version: '0.1.0',
      data: { composite: {}, user: {} }
    };
  }

  async list(): Promise<{ ids: string[]; values: ISettingRegistry.IPlugin[] }> {
    const plugin = (await this.fetch(CORE_PLUGIN_ID))!;
    return { ids: [plugin.id], values: [plugin] };
  }

  async save(_id: string, raw: string): Promise<void> {
    this.raw = raw;
  }

  async remove(): Promise<void> {
    throw new Error('not used');
  }
}

interface IStarted {
  registry: PluginRegistry;
  settingRegistry: SettingRegistry;
  sidebars: Widget[];
  commands: CommandRegistry;
}

const started: IStarted[] = [];

/** A front end with just what the plugins use: commands, the server settings and a shell. */
function start(server: FakeServer, stored = '{}'): IStarted {
  const commands = new CommandRegistry();
  const sidebars: Widget[] = [];
  const app = {
    commands,
    serviceManager: { serverSettings: server.settings() },
    shell: {
      add: (widget: Widget) => {
        sidebars.push(widget);
        Widget.attach(widget, document.body);
      },
      activateById: () => undefined
    }
  } as unknown as JupyterFrontEnd;
  const settingRegistry = new SettingRegistry({ connector: new MemorySettings(stored) });
  const registry = new PluginRegistry();
  registry.application = app;
  registry.registerPlugins([
    {
      id: 'test:settings',
      provides: ISettingRegistry,
      activate: () => settingRegistry
    },
    ...plugins
  ]);
  const front = { registry, settingRegistry, sidebars, commands };
  started.push(front);
  return front;
}

function lockedVaultServer(): FakeServer {
  const server = new FakeServer();
  server.routes.set('vault', () => json({ state: 'locked' }));
  server.routes.set('sandbox', () =>
    json({ kernels: 'landlock', kernels_confined: true, bots: 'off', bots_confined: false })
  );
  return server;
}

afterEach(async () => {
  for (const { registry, sidebars } of started.splice(0)) {
    sidebars.forEach(widget => widget.dispose());
    (await registry.resolveRequiredService(IWatchdogLab)).vaultModel.dispose();
  }
});

describe('plugins', () => {
  it('give the sidebar the API client and vault model the core plugin provides', async () => {
    const server = lockedVaultServer();
    const { registry, sidebars } = start(server);

    await registry.activatePlugin('watchdog-lab:sidebar');

    const watchdog = await registry.resolveRequiredService(IWatchdogLab);
    expect(watchdog.api.url('vault')).toBe('http://127.0.0.1:8888/watchdog-lab/vault');
    expect(sidebars).toHaveLength(1);
    expect((sidebars[0] as unknown as { model: unknown }).model).toBe(watchdog.vaultModel);
    // The attached sidebar asks through the shared model and renders its answer.
    await waitFor(() => sidebars[0].node.textContent!.includes('Locked'));
    expect(server.requestsTo(VAULT).length).toBeGreaterThanOrEqual(1);
  });

  it('poll at the pace the stored settings give', async () => {
    const { registry } = start(lockedVaultServer(), '{"vaultRefreshInterval": 2}');

    await registry.activatePlugin(CORE_PLUGIN_ID);

    const { vaultModel } = await registry.resolveRequiredService(IWatchdogLab);
    await waitFor(() => vaultModel.polling.interval === 2000);
    expect(vaultModel.polling).toEqual({ interval: 2000, backoffLimit: 60_000 });
  });

  it('apply a settings change while running', async () => {
    const { registry, settingRegistry } = start(lockedVaultServer());
    await registry.activatePlugin(CORE_PLUGIN_ID);
    const { vaultModel } = await registry.resolveRequiredService(IWatchdogLab);
    const settings = await settingRegistry.load(CORE_PLUGIN_ID);
    expect(vaultModel.polling).toEqual({ interval: 5000, backoffLimit: 60_000 });

    await settings.set('vaultRefreshBackoffLimit', 300);
    await settings.set('vaultRefreshInterval', 30);

    await waitFor(() => vaultModel.polling.interval === 30_000);
    expect(vaultModel.polling).toEqual({ interval: 30_000, backoffLimit: 300_000 });
  });

  it('refresh the vault state from the command even while the sidebar is closed', async () => {
    const server = lockedVaultServer();
    const { registry, commands } = start(server);
    await registry.activatePlugin(CORE_PLUGIN_ID);
    const { vaultModel } = await registry.resolveRequiredService(IWatchdogLab);
    expect(vaultModel.active).toBe(false);

    await commands.execute(CommandIDs.refresh);

    expect(server.requestsTo(VAULT)).toHaveLength(1);
    expect(vaultModel.status).toEqual({ kind: 'ready', state: 'locked' });
  });
});
