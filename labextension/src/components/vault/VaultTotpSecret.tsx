import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

/** Characters per group of the secret shown for typing, as authenticator apps group them. */
export const SECRET_GROUP_SIZE = 4;

/**
 * The base32 secret cut into groups of four for a person to type: upper case, without the
 * spaces or `=` padding an authenticator ignores anyway.
 */
export function secretGroups(secret: string, size: number = SECRET_GROUP_SIZE): string[] {
  const clean = secret.replace(/[\s=]/g, '').toUpperCase();
  const groups: string[] = [];
  for (let start = 0; start < clean.length; start += size) {
    groups.push(clean.slice(start, start + size));
  }
  return groups;
}

/**
 * The enrolment secret to type by hand. The groups are separate elements spaced by CSS, so a
 * selection or a copy gives the secret without spaces; it is on screen only while the
 * enrolment step is.
 */
export function VaultTotpSecret(props: { secret: string; trans: TranslationBundle }): JSX.Element {
  const { secret, trans } = props;
  const labelId = React.useId();
  return (
    <div className="wd-vault-field">
      <span className="wd-vault-label" id={labelId}>
        {trans.__('Or type this key into the app')}
      </span>
      <code
        className="wd-vault-totp-secret"
        data-testid="wd-vault-totp-secret"
        aria-labelledby={labelId}
        tabIndex={0}
      >
        {secretGroups(secret).map((group, index) => (
          <span key={index} className="wd-vault-totp-secretGroup">
            {group}
          </span>
        ))}
      </code>
    </div>
  );
}
