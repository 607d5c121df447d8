import { nullTranslator } from '@jupyterlab/translation';
import * as React from 'react';

import { ITotpEnrolment, WatchdogApiError } from '../src/api';
import { VaultTotpSection } from '../src/components/vault/VaultTotpSection';
import { TRANSLATION_DOMAIN } from '../src/translation';
import { waitFor } from './fakeServer';
import { byTestId, disposeMounted, everything, mountNode, submit } from './render';

const trans = nullTranslator.load(TRANSLATION_DOMAIN);
const PASSWORD = 'pw-two-factor-1';
const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const ENROLMENT: ITotpEnrolment = {
  secret: SECRET,
  provisioningUri: `otpauth://totp/WatchDog%20Lab:vault?secret=${SECRET}&issuer=WatchDog%20Lab`
};

afterEach(disposeMounted);

/** Mounts the section with its `details` open. */
async function mount(element: JSX.Element): Promise<HTMLElement> {
  const root = await mountNode(element);
  root.querySelector('details')!.open = true;
  return root;
}

/** The section, off, with its three actions recorded; begin answers `ENROLMENT`. */
function offSection(confirm: () => Promise<void> = () => Promise.resolve()) {
  const actions = {
    onBegin: jest.fn((_password: string) => Promise.resolve(ENROLMENT)),
    onConfirm: jest.fn((_password: string, _secret: string, _code: string) => confirm()),
    onDisable: jest.fn((_password: string, _code: string) => Promise.resolve())
  };
  return { actions, element: <VaultTotpSection totpEnabled={false} {...actions} trans={trans} /> };
}

/** Turn on with the password and wait for the enrolment step. */
async function begin(root: HTMLElement): Promise<void> {
  byTestId<HTMLInputElement>(root, 'wd-vault-totp-begin-password').value = PASSWORD;
  submit(root);
  await waitFor(() => root.querySelector('[data-testid="wd-vault-totp-qr"]') !== null);
}

describe('VaultTotpSection', () => {
  it('shows the QR code and the grouped key after the password, and empties the field', async () => {
    const { actions, element } = offSection();
    const root = await mount(element);

    await begin(root);

    expect(actions.onBegin).toHaveBeenCalledWith(PASSWORD);
    const groups = Array.from(
      byTestId(root, 'wd-vault-totp-secret').querySelectorAll('span'),
      span => span.textContent
    );
    expect(groups).toEqual(['JBSW', 'Y3DP', 'EHPK', '3PXP', 'JBSW', 'Y3DP', 'EHPK', '3PXP']);
    const qr = byTestId<HTMLImageElement>(root, 'wd-vault-totp-qr');
    expect(qr.src.startsWith('data:image/svg+xml')).toBe(true);
    expect(qr.alt).toContain('enrolment link');
    expect(qr.alt).not.toContain(SECRET);
    expect(everything(root)).not.toContain(PASSWORD);
    expect(root.innerHTML).not.toContain('otpauth');
  });

  it('drops the secret from the page when the enrolment is cancelled', async () => {
    const { actions, element } = offSection();
    const root = await mount(element);
    await begin(root);

    byTestId(root, 'wd-vault-totp-cancel').click();
    await waitFor(() => root.querySelector('[data-testid="wd-vault-totp-enrolment"]') === null);

    expect(everything(root)).not.toContain(SECRET.slice(0, 4) + SECRET.slice(4, 8));
    expect(root.querySelector('[data-testid="wd-vault-totp-secret"]')).toBeNull();
    expect(root.querySelector('[data-testid="wd-vault-totp-begin-form"]')).not.toBeNull();
    expect(actions.onConfirm).not.toHaveBeenCalled();
  });

  it('drops the secret from the page when the section is folded', async () => {
    const { element } = offSection();
    const root = await mount(element);
    await begin(root);

    const details = root.querySelector('details')!;
    details.open = false;
    details.dispatchEvent(new Event('toggle'));
    await waitFor(() => root.querySelector('[data-testid="wd-vault-totp-secret"]') === null);

    expect(root.querySelector('[data-testid="wd-vault-totp-qr"]')).toBeNull();
  });

  it('confirms with the password, the secret and the code, then drops the secret', async () => {
    const { actions, element } = offSection();
    const root = await mount(element);
    await begin(root);

    byTestId<HTMLInputElement>(root, 'wd-vault-totp-confirm-code').value = ' 123456 ';
    byTestId<HTMLInputElement>(root, 'wd-vault-totp-confirm-password').value = PASSWORD;
    submit(root);
    await waitFor(() => root.querySelector('[data-testid="wd-vault-totp-secret"]') === null);

    expect(actions.onConfirm).toHaveBeenCalledWith(PASSWORD, SECRET, '123456');
    expect(byTestId(root, 'wd-vault-totp-done').hidden).toBe(false);
    expect(root.querySelector('[data-testid="wd-vault-totp-qr"]')).toBeNull();
    expect(everything(root)).not.toContain(PASSWORD);
    expect(root.innerHTML).not.toContain('JBSW');
  });

  it("keeps the enrolment after a wrong code, with the server's message and empty fields", async () => {
    const message = 'That two-factor code is not valid.';
    const { element } = offSection(() =>
      Promise.reject(new WatchdogApiError(message, 422, 'invalid_totp_code'))
    );
    const root = await mount(element);
    await begin(root);

    byTestId<HTMLInputElement>(root, 'wd-vault-totp-confirm-code').value = '000000';
    byTestId<HTMLInputElement>(root, 'wd-vault-totp-confirm-password').value = PASSWORD;
    submit(root);
    const error = byTestId(root, 'wd-vault-totp-confirm-error');
    await waitFor(() => !error.hidden);

    expect(error.textContent).toBe(message);
    expect(root.querySelector('[data-testid="wd-vault-totp-secret"]')).not.toBeNull();
    expect(everything(root)).not.toContain(PASSWORD);
  });

  it('turns off with the password and a code when two-factor is on', async () => {
    const onDisable = jest.fn((_password: string, _code: string) => Promise.resolve());
    const root = await mount(
      <VaultTotpSection
        totpEnabled={true}
        onBegin={() => Promise.reject(new Error('not asked'))}
        onConfirm={() => Promise.reject(new Error('not asked'))}
        onDisable={onDisable}
        trans={trans}
      />
    );
    expect(byTestId(root, 'wd-vault-totp-state').textContent).toBe('On');

    byTestId<HTMLInputElement>(root, 'wd-vault-totp-disable-password').value = PASSWORD;
    byTestId<HTMLInputElement>(root, 'wd-vault-totp-disable-code').value = '654321';
    submit(root);
    await waitFor(() => onDisable.mock.calls.length === 1);

    expect(onDisable).toHaveBeenCalledWith(PASSWORD, '654321');
    expect(everything(root)).not.toContain(PASSWORD);
  });

  it('refuses to turn off without a code, sending nothing', async () => {
    const onDisable = jest.fn((_password: string, _code: string) => Promise.resolve());
    const root = await mount(
      <VaultTotpSection
        totpEnabled={true}
        onBegin={() => Promise.reject(new Error('not asked'))}
        onConfirm={() => Promise.reject(new Error('not asked'))}
        onDisable={onDisable}
        trans={trans}
      />
    );

    byTestId<HTMLInputElement>(root, 'wd-vault-totp-disable-password').value = PASSWORD;
    submit(root);
    const error = byTestId(root, 'wd-vault-totp-disable-error');
    await waitFor(() => !error.hidden);

    expect(onDisable).not.toHaveBeenCalled();
    expect(everything(root)).not.toContain(PASSWORD);
  });
});
