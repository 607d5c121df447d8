import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { IPasswordStrength, strengthLabel } from './strength';

const SEGMENTS = 4;

/** Four segments and a label; only the computed level reaches the DOM, never the password. */
export function VaultStrengthMeter(props: {
  strength: IPasswordStrength;
  trans: TranslationBundle;
}): JSX.Element {
  const { strength, trans } = props;
  const label = strengthLabel(strength.level, trans);
  return (
    <div
      className={`wd-vault-strength wd-vault-strength-${strength.level}`}
      data-testid="wd-vault-strength"
      data-level={strength.level}
      role="meter"
      aria-label={trans.__('Password strength')}
      aria-valuemin={0}
      aria-valuemax={SEGMENTS}
      aria-valuenow={strength.score}
      aria-valuetext={label}
    >
      <div className="wd-vault-strength-bar" aria-hidden="true">
        {Array.from({ length: SEGMENTS }, (_, index) => (
          <span
            key={index}
            className={`wd-vault-strength-segment${index < strength.score ? ' wd-vault-strength-on' : ''}`}
          />
        ))}
      </div>
      <span className="wd-vault-strength-label">{label}</span>
    </div>
  );
}
