import * as React from 'react';

export interface IVaultPasswordFieldProps {
  label: string;
  /** The form reads the value from here on submit and empties it at once. */
  inputRef: React.RefObject<HTMLInputElement>;
  autoComplete: 'current-password' | 'new-password' | 'one-time-code';
  testId: string;
  /** Told each value as typed, for the strength meter; the field keeps no copy. */
  onValue?: (value: string) => void;
  /** A two-factor code: digits, shown as typed (it is single use). */
  code?: boolean;
}

/**
 * A labelled secret input.
 *
 * Uncontrolled on purpose: a controlled React input mirrors its value into the `value`
 * attribute, which puts the password into the page's HTML while it is typed. Here the value
 * lives only in the input's property until the form takes it and clears it.
 */
export function VaultPasswordField(props: IVaultPasswordFieldProps): JSX.Element {
  const id = React.useId();
  const { label, inputRef, autoComplete, testId, onValue, code } = props;
  return (
    <div className="wd-vault-field">
      <label className="wd-vault-label" htmlFor={id}>
        {label}
      </label>
      <input
        id={id}
        ref={inputRef}
        className="wd-vault-input jp-mod-styled"
        data-testid={testId}
        type={code ? 'text' : 'password'}
        inputMode={code ? 'numeric' : undefined}
        autoComplete={autoComplete}
        autoCapitalize="off"
        autoCorrect="off"
        spellCheck={false}
        onChange={onValue ? event => onValue(event.currentTarget.value) : undefined}
      />
    </div>
  );
}

/** Read each field's value and empty it, in one step, before anything is sent. */
export function takeValues(...refs: React.RefObject<HTMLInputElement>[]): string[] {
  return refs.map(ref => {
    const input = ref.current;
    if (!input) {
      return '';
    }
    const value = input.value;
    input.value = '';
    return value;
  });
}
