/**
 * The Fix with AI plugin as JupyterLab starts it, and the error output it renders: the error
 * is taken ahead of JupyterLab's own stderr renderer, keeps that renderer's traceback, and gets
 * the button.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { INotebookTracker } from '@jupyterlab/notebook';
import {
  IRenderMimeRegistry,
  MimeModel,
  OutputModel,
  RenderMimeRegistry,
  standardRendererFactories
} from '@jupyterlab/rendermime';
import { nullTranslator } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';
import { PluginRegistry } from '@lumino/coreutils';
import { Widget } from '@lumino/widgets';

import { AIFixCommandIDs } from '../src/aifix/commands';
import { ERROR_MIME_TYPE, ErrorOutputRenderer, IErrorFixHost } from '../src/aifix/errorOutput';
import { aifixPlugin } from '../src/aifix/plugin';
import { IErrorOutput } from '../src/aifix/targets';
import { IWatchdogLab } from '../src/tokens';
import { FakeServer } from './fakeServer';

const trans = nullTranslator.load('watchdog-lab');
const ERROR = {
  output_type: 'error',
  ename: 'KeyError',
  evalue: "'last'",
  traceback: ['\u001b[31mKeyError\u001b[0m: <b>last</b>']
};

async function started(): Promise<{ rendermime: RenderMimeRegistry; commands: CommandRegistry }> {
  const rendermime = new RenderMimeRegistry({ initialFactories: standardRendererFactories });
  const commands = new CommandRegistry();
  const registry = new PluginRegistry();
  registry.application = { commands } as unknown as JupyterFrontEnd;
  const tracker = { activeCell: null, currentWidget: null, find: () => undefined };
  registry.registerPlugins([
    {
      id: 'test:watchdog',
      provides: IWatchdogLab,
      activate: () => ({ api: new FakeServer().client(), vaultModel: null })
    },
    { id: 'test:tracker', provides: INotebookTracker, activate: () => tracker },
    { id: 'test:rendermime', provides: IRenderMimeRegistry, activate: () => rendermime },
    aifixPlugin
  ]);
  await registry.activatePlugin(aifixPlugin.id);
  return { rendermime, commands };
}

describe('the Fix with AI plugin', () => {
  it('takes error outputs ahead of the stderr renderer', async () => {
    const { rendermime } = await started();
    const output = new OutputModel({ value: ERROR });

    expect(rendermime.preferredMimeType(output.data, 'ensure')).toBe(ERROR_MIME_TYPE);
  });

  it('registers both commands, fix-bot only with a bot name', async () => {
    const { commands } = await started();

    expect(commands.hasCommand(AIFixCommandIDs.fixCell)).toBe(true);
    expect(commands.isEnabled(AIFixCommandIDs.fixCell)).toBe(false);
    expect(commands.isEnabled(AIFixCommandIDs.fixBot, {})).toBe(false);
    expect(commands.isEnabled(AIFixCommandIDs.fixBot, { bot: 'looper' })).toBe(true);
  });
});

describe('ErrorOutputRenderer', () => {
  const rendermime = new RenderMimeRegistry({ initialFactories: standardRendererFactories });

  function host(inNotebook: boolean, fixed: IErrorOutput[]): IErrorFixHost {
    return {
      trans,
      createTextRenderer: () => rendermime.createRenderer('application/vnd.jupyter.stderr'),
      inNotebook: () => inNotebook,
      fix: (_node, error) => void fixed.push(error)
    };
  }

  async function rendered(inNotebook: boolean, fixed: IErrorOutput[] = []): Promise<Widget> {
    const renderer = new ErrorOutputRenderer(
      {
        mimeType: ERROR_MIME_TYPE,
        sanitizer: rendermime.sanitizer,
        resolver: null,
        linkHandler: null,
        latexTypesetter: null
      },
      host(inNotebook, fixed)
    );
    const output = new OutputModel({ value: ERROR });
    await renderer.renderModel(new MimeModel({ data: output.data }));
    Widget.attach(renderer, document.body);
    return renderer;
  }

  it('keeps the traceback as JupyterLab renders it, as text', async () => {
    const renderer = await rendered(true);

    const text = renderer.node.querySelector('[data-mime-type="application/vnd.jupyter.stderr"]');
    expect(text?.textContent).toContain('KeyError: <b>last</b>');
    expect(renderer.node.querySelector('b')).toBeNull();
    renderer.dispose();
  });

  it('opens the fix for this error from the button', async () => {
    const fixed: IErrorOutput[] = [];
    const renderer = await rendered(true, fixed);

    renderer.node
      .querySelector<HTMLButtonElement>('[data-testid="wd-aifix-error-button"]')!
      .click();

    expect(fixed).toEqual([{ ename: 'KeyError', evalue: "'last'", traceback: ERROR.traceback }]);
    renderer.dispose();
  });

  it('hides the button outside a notebook', async () => {
    const renderer = await rendered(false);

    const bar = renderer.node.querySelector('.wd-aifix-errorBar')!;
    expect(bar.classList.contains('lm-mod-hidden')).toBe(true);
    renderer.dispose();
  });
});
