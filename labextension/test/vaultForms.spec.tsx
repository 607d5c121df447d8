import { nullTranslator } from '@jupyterlab/translation';
import * as React from 'react';

import { WatchdogApiError } from '../src/api';
import { VaultCreateForm } from '../src/components/vault/VaultCreateForm';
import { VaultPasswordChangeForm } from '../src/components/vault/VaultPasswordChangeForm';
import { VaultUnlockForm } from '../src/components/vault/VaultUnlockForm';
import { TRANSLATION_DOMAIN } from '../src/translation';
import { waitFor } from './fakeServer';
import { byTestId, disposeMounted, everything, mountNode as mount, submit } from './render';

const trans = nullTranslator.load(TRANSLATION_DOMAIN);

afterEach(disposeMounted);

function input(root: HTMLElement, testId: string): HTMLInputElement {
  return byTestId<HTMLInputElement>(root, testId);
}

async function errorText(root: HTMLElement, testId: string): Promise<string> {
  const error = root.querySelector<HTMLElement>(`[data-testid="${testId}"]`)!;
  await waitFor(() => !error.hidden);
  return error.textContent ?? '';
}

describe('VaultCreateForm', () => {
  it('refuses two different passwords without sending, and empties both fields', async () => {
    const onCreate = jest.fn(() => Promise.resolve());
    const root = await mount(<VaultCreateForm onCreate={onCreate} trans={trans} />);
    input(root, 'wd-vault-create-password').value = 'first-password-1';
    input(root, 'wd-vault-create-confirm').value = 'first-password-2';

    submit(root);

    expect(await errorText(root, 'wd-vault-create-error')).toMatch(/differ/);
    expect(onCreate).not.toHaveBeenCalled();
    expect(everything(root)).not.toMatch(/first-password/);
  });

  it('refuses an empty password without sending', async () => {
    const onCreate = jest.fn(() => Promise.resolve());
    const root = await mount(<VaultCreateForm onCreate={onCreate} trans={trans} />);

    submit(root);

    expect(await errorText(root, 'wd-vault-create-error')).toMatch(/Type a password/);
    expect(onCreate).not.toHaveBeenCalled();
  });

  it('sends the password once, and empties the fields before the answer comes', async () => {
    let answer: () => void = () => undefined;
    const onCreate = jest.fn(() => new Promise<void>(resolve => (answer = resolve)));
    const root = await mount(<VaultCreateForm onCreate={onCreate} trans={trans} />);
    input(root, 'wd-vault-create-password').value = 'same-password-9';
    input(root, 'wd-vault-create-confirm').value = 'same-password-9';

    submit(root);

    expect(onCreate).toHaveBeenCalledWith('same-password-9');
    expect(everything(root)).not.toContain('same-password-9');
    answer();
  });

  it('renders both fields as labelled password inputs', async () => {
    const root = await mount(<VaultCreateForm onCreate={() => Promise.resolve()} trans={trans} />);
    for (const testId of ['wd-vault-create-password', 'wd-vault-create-confirm']) {
      const field = input(root, testId);
      expect(field.type).toBe('password');
      expect(root.querySelector(`label[for="${field.id}"]`)!.textContent).not.toBe('');
    }
  });
});

describe('VaultUnlockForm', () => {
  it("shows the server's message for a wrong password, with the fields already empty", async () => {
    const onUnlock = jest.fn(() =>
      Promise.reject(new WatchdogApiError('Wrong vault password.', 422, 'wrong_password'))
    );
    const root = await mount(<VaultUnlockForm totpEnabled onUnlock={onUnlock} trans={trans} />);
    input(root, 'wd-vault-unlock-password').value = 'not-the-password';
    input(root, 'wd-vault-unlock-code').value = ' 123456 ';

    submit(root);

    expect(onUnlock).toHaveBeenCalledWith('not-the-password', '123456');
    expect(await errorText(root, 'wd-vault-unlock-error')).toBe('Wrong vault password.');
    expect(everything(root)).not.toMatch(/not-the-password|123456/);
  });

  it('has no code field and sends no code while two-factor is off', async () => {
    const onUnlock = jest.fn(() => Promise.resolve());
    const root = await mount(
      <VaultUnlockForm totpEnabled={false} onUnlock={onUnlock} trans={trans} />
    );
    expect(root.querySelector('[data-testid="wd-vault-unlock-code"]')).toBeNull();
    input(root, 'wd-vault-unlock-password').value = 'the-password';

    submit(root);

    expect(onUnlock).toHaveBeenCalledWith('the-password', undefined);
  });
});

describe('VaultPasswordChangeForm', () => {
  it('refuses two different new passwords without sending, and empties all three', async () => {
    const onChange = jest.fn(() => Promise.resolve());
    const root = await mount(<VaultPasswordChangeForm onChange={onChange} trans={trans} />);
    input(root, 'wd-vault-password-current').value = 'old-secret-1';
    input(root, 'wd-vault-password-new').value = 'new-secret-1';
    input(root, 'wd-vault-password-confirm').value = 'new-secret-2';

    submit(root);

    expect(await errorText(root, 'wd-vault-password-error')).toMatch(/differ/);
    expect(onChange).not.toHaveBeenCalled();
    expect(everything(root)).not.toMatch(/old-secret|new-secret/);
  });

  it('sends the current and the new password, then says it is done', async () => {
    const onChange = jest.fn(() => Promise.resolve());
    const root = await mount(<VaultPasswordChangeForm onChange={onChange} trans={trans} />);
    input(root, 'wd-vault-password-current').value = 'old-secret-1';
    input(root, 'wd-vault-password-new').value = 'new-secret-long-1';
    input(root, 'wd-vault-password-confirm').value = 'new-secret-long-1';

    submit(root);

    expect(onChange).toHaveBeenCalledWith('old-secret-1', 'new-secret-long-1');
    const done = root.querySelector<HTMLElement>('[data-testid="wd-vault-password-done"]')!;
    await waitFor(() => !done.hidden);
    expect(everything(root)).not.toMatch(/old-secret|new-secret/);
  });
});
