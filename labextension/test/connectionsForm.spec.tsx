import { nullTranslator } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import { AddConnectionForm } from '../src/components/connections/AddConnectionForm';
import { ConnectionList } from '../src/components/connections/ConnectionList';
import { IConnectionSummary, IKindDescription } from '../src/connections';
import { TRANSLATION_DOMAIN } from '../src/translation';
import { FakeServer, waitFor } from './fakeServer';
import { control, mount } from './render';

const trans = nullTranslator.load(TRANSLATION_DOMAIN);

/** A server that refuses every connection as a duplicate. */
function refusingServer(): FakeServer {
  return FakeServer.answering(409, {
    reason: 'duplicate_connection',
    message: "A connection named 'k' already exists."
  });
}

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

/** Types into a React-controlled input the way a browser does (React reads the native setter). */
function type(element: HTMLInputElement, value: string): void {
  Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!.call(element, value);
  element.dispatchEvent(new Event('input', { bubbles: true }));
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
        api={refusingServer().client()}
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
    const server = refusingServer();
    widget = await mount(
      <AddConnectionForm
        api={server.client()}
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
    expect(server.sent.map(request => request.body)).toEqual([
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
        api={refusingServer().client()}
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
