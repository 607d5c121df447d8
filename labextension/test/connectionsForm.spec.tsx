import { ServerConnection } from '@jupyterlab/services';
import { nullTranslator } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import { WatchdogApiClient } from '../src/api';
import { AddConnectionForm } from '../src/components/connections/AddConnectionForm';
import { ConnectionList } from '../src/components/connections/ConnectionList';
import { IConnectionSummary, IKindDescription } from '../src/connections';
import { TRANSLATION_DOMAIN } from '../src/translation';
import { waitFor } from './fakeServer';

const trans = nullTranslator.load(TRANSLATION_DOMAIN);

const KALSHI: IKindDescription = {
  kind: 'kalshi',
  description: 'Kalshi',
  open: false,
  family: false,
  fields: [
    {
      name: 'api_key_id',
      visibility: 'hint',
      required: true,
      choices: [],
      default: null,
      description: '',
      fromFile: false
    },
    {
      name: 'private_key_pem',
      visibility: 'secret',
      required: true,
      choices: [],
      default: null,
      description: '',
      fromFile: true
    },
    {
      name: 'environment',
      visibility: 'public',
      required: true,
      choices: ['demo', 'prod'],
      default: 'demo',
      description: '',
      fromFile: false
    }
  ]
};

/** A client whose server refuses every connection as a duplicate, keeping what it was sent. */
function refusingClient(sent: unknown[]): WatchdogApiClient {
  const serverSettings = ServerConnection.makeSettings({
    baseUrl: 'http://127.0.0.1:8888/',
    fetch: async (input: RequestInfo | URL, init?: RequestInit) => {
      sent.push(JSON.parse(await new Request(input, init).text()));
      return new Response(
        JSON.stringify({
          reason: 'duplicate_connection',
          message: "A connection named 'k' already exists."
        }),
        { status: 409, headers: { 'Content-Type': 'application/json' } }
      );
    }
  });
  return new WatchdogApiClient({ serverSettings });
}

async function mount(element: JSX.Element): Promise<Widget> {
  const widget = ReactWidget.create(element);
  Widget.attach(widget, document.body);
  widget.update();
  await waitFor(() => widget.node.childElementCount > 0);
  return widget;
}

/** Types into a React-controlled input the way a browser does (React reads the native setter). */
function type(element: HTMLInputElement, value: string): void {
  Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!.call(element, value);
  element.dispatchEvent(new Event('input', { bubbles: true }));
}

function control<T extends Element>(root: HTMLElement, selector: string): T {
  const found = root.querySelector<T>(selector);
  expect(found).not.toBeNull();
  return found as T;
}

describe('AddConnectionForm', () => {
  let widget: Widget | null = null;
  afterEach(() => {
    widget?.dispose();
    widget = null;
  });

  it('renders secrets as password inputs and the key as a masked area', async () => {
    widget = await mount(
      <AddConnectionForm
        api={refusingClient([])}
        kinds={[KALSHI]}
        trans={trans}
        onAdded={() => undefined}
        onCancel={() => undefined}
      />
    );
    const node = widget.node;

    expect(control<HTMLInputElement>(node, '[data-field="api_key_id"]').type).toBe('password');
    expect(control(node, '[data-field="private_key_pem"]').tagName).toBe('TEXTAREA');
    expect(control(node, '[data-field="private_key_pem"]').classList).toContain('wd-conn-pem');
    expect(control<HTMLSelectElement>(node, '[data-field="environment"]').value).toBe('demo');
  });

  it('sends the values, then empties every secret control even when the server refuses', async () => {
    const sent: unknown[] = [];
    widget = await mount(
      <AddConnectionForm
        api={refusingClient(sent)}
        kinds={[KALSHI]}
        trans={trans}
        onAdded={() => undefined}
        onCancel={() => undefined}
      />
    );
    const node = widget.node;
    type(control<HTMLInputElement>(node, '[data-testid="wd-conn-name"]'), 'k');
    const keyId = control<HTMLInputElement>(node, '[data-field="api_key_id"]');
    const pem = control<HTMLTextAreaElement>(node, '[data-field="private_key_pem"]');
    keyId.value = 'key-id-value';
    pem.value = 'PEM-VALUE';

    control<HTMLFormElement>(node, 'form').dispatchEvent(
      new Event('submit', { bubbles: true, cancelable: true })
    );

    expect(keyId.value).toBe('');
    expect(pem.value).toBe('');
    await waitFor(() => node.querySelector('[data-testid="wd-conn-error"]') !== null);
    expect(node.querySelector('[data-testid="wd-conn-error"]')!.textContent).toBe(
      "A connection named 'k' already exists."
    );
    expect(sent).toEqual([
      {
        name: 'k',
        kind: 'kalshi',
        fields: { api_key_id: 'key-id-value', private_key_pem: 'PEM-VALUE', environment: 'demo' }
      }
    ]);
    expect(node.innerHTML).not.toContain('key-id-value');
    expect(node.innerHTML).not.toContain('PEM-VALUE');
  });
});

describe('ConnectionList', () => {
  it('shows a corrupted record with its reason, and offers only to remove it', async () => {
    const corrupted: IConnectionSummary = {
      id: 'f'.repeat(32),
      name: null,
      kind: null,
      fields: {},
      status: 'corrupted',
      error: 'The record does not decrypt.'
    };
    const widget = await mount(
      <ConnectionList
        api={refusingClient([])}
        connections={[corrupted]}
        trans={trans}
        onChanged={() => undefined}
      />
    );
    const row = control<HTMLElement>(widget.node, '[data-testid="wd-conn-item"]');

    expect(row.dataset.status).toBe('corrupted');
    expect(row.querySelector('[data-testid="wd-conn-corrupted"]')!.textContent).toBe('Corrupted');
    expect(row.textContent).toContain('The record does not decrypt.');
    expect(row.querySelector('[data-testid="wd-conn-rename"]')).toBeNull();
    expect(row.querySelector('[data-testid="wd-conn-remove"]')).not.toBeNull();
    widget.dispose();
  });
});
