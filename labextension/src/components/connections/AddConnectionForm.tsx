import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { WatchdogApiClient } from '../../api';
import {
  errorMessage,
  formFields,
  IConnectionSummary,
  IFormField,
  IKindDescription,
  kindToSend,
  variantLabel
} from '../../connections';

export interface IAddConnectionFormProps {
  api: WatchdogApiClient;
  kinds: IKindDescription[];
  trans: TranslationBundle;
  onAdded: (created: IConnectionSummary) => void;
  onCancel: () => void;
}

/** The element a secret value is typed or pasted into. */
type SecretElement = HTMLInputElement | HTMLTextAreaElement;

/**
 * Add a connection of a kind from the registry.
 *
 * Secret values live only in uncontrolled inputs (never in React state, so never in a rendered
 * `value` attribute), are read once when the form is sent, and every secret input is emptied
 * before the request leaves, so neither a success nor a refusal leaves a value in the page.
 */
export function AddConnectionForm(props: IAddConnectionFormProps): JSX.Element {
  const { api, kinds, trans, onAdded, onCancel } = props;
  const baseId = React.useId();
  const [kindIndex, setKindIndex] = React.useState(0);
  const kind = kinds[kindIndex];
  const fields = React.useMemo(() => formFields(kind), [kind]);
  const [name, setName] = React.useState('');
  const [variant, setVariant] = React.useState('');
  const [publicValues, setPublicValues] = React.useState<Record<string, string>>(() =>
    initialPublicValues(fields)
  );
  // Open kinds: the field names the user added (names are not secret; values are).
  const [rows, setRows] = React.useState<{ key: number; name: string }[]>([{ key: 0, name: '' }]);
  const nextRow = React.useRef(1);
  const secretInputs = React.useRef(new Map<string, SecretElement>());
  const [error, setError] = React.useState<string | null>(null);
  const [busy, setBusy] = React.useState(false);

  const secretRef = (key: string) => (element: SecretElement | null) => {
    if (element) {
      secretInputs.current.set(key, element);
    } else {
      secretInputs.current.delete(key);
    }
  };

  const clearSecrets = (): void => {
    for (const element of secretInputs.current.values()) {
      element.value = '';
    }
  };

  const chooseKind = (index: number): void => {
    clearSecrets();
    setKindIndex(index);
    setVariant('');
    setPublicValues(initialPublicValues(formFields(kinds[index])));
    setRows([{ key: nextRow.current++, name: '' }]);
    setError(null);
  };

  const submit = async (event: React.FormEvent): Promise<void> => {
    event.preventDefault();
    const values: Record<string, string> = {};
    for (const field of fields) {
      const value = field.secret
        ? (secretInputs.current.get(`field:${field.name}`)?.value ?? '')
        : (publicValues[field.name] ?? '');
      if (value !== '') {
        values[field.name] = value;
      }
    }
    if (kind.open) {
      for (const row of rows) {
        const value = secretInputs.current.get(`row:${row.key}`)?.value ?? '';
        if (row.name.trim() !== '' || value !== '') {
          values[row.name.trim()] = value;
        }
      }
    }
    // Out of the page before the request is even sent: a refusal keeps nothing either.
    clearSecrets();
    setBusy(true);
    setError(null);
    try {
      const created = await api.createConnection(name.trim(), kindToSend(kind, variant), values);
      onAdded(created);
    } catch (failure) {
      setError(errorMessage(failure));
      setBusy(false);
    }
  };

  const id = (suffix: string): string => `${baseId}-${suffix}`;
  return (
    <form
      className="wd-conn-form"
      data-testid="wd-conn-form"
      aria-label={trans.__('Add a connection')}
      autoComplete="off"
      onSubmit={event => void submit(event)}
      onKeyDown={event => {
        if (event.key === 'Escape') {
          clearSecrets();
          onCancel();
        }
      }}
    >
      <label className="wd-conn-label" htmlFor={id('kind')}>
        {trans.__('Kind')}
      </label>
      <select
        id={id('kind')}
        className="jp-mod-styled wd-conn-input"
        data-testid="wd-conn-kind"
        value={String(kindIndex)}
        onChange={event => chooseKind(Number(event.target.value))}
      >
        {kinds.map((described, index) => (
          <option key={described.kind} value={String(index)}>
            {described.kind}
          </option>
        ))}
      </select>
      {kind.description && <p className="wd-conn-description">{kind.description}</p>}

      {kind.family && (
        <>
          <label className="wd-conn-label" htmlFor={id('variant')}>
            {variantLabel(kind) || trans.__('Variant')}
          </label>
          <input
            id={id('variant')}
            className="jp-mod-styled wd-conn-input"
            data-testid="wd-conn-variant"
            type="text"
            required
            spellCheck={false}
            value={variant}
            onChange={event => setVariant(event.target.value)}
          />
        </>
      )}

      <label className="wd-conn-label" htmlFor={id('name')}>
        {trans.__('Name')}
      </label>
      <input
        id={id('name')}
        className="jp-mod-styled wd-conn-input"
        data-testid="wd-conn-name"
        type="text"
        required
        maxLength={64}
        spellCheck={false}
        value={name}
        onChange={event => setName(event.target.value)}
      />

      <div key={kind.kind} className="wd-conn-fieldset">
        {fields.map(field => (
          <FieldControl
            key={field.name}
            id={id(`field-${field.name}`)}
            field={field}
            value={publicValues[field.name] ?? ''}
            onChange={value => setPublicValues(current => ({ ...current, [field.name]: value }))}
            secretRef={secretRef(`field:${field.name}`)}
            trans={trans}
          />
        ))}
        {kind.open &&
          rows.map((row, index) => (
            <div key={row.key} className="wd-conn-row" data-testid="wd-conn-row">
              <label className="wd-conn-label" htmlFor={id(`row-name-${row.key}`)}>
                {trans.__('Field %1 name', index + 1)}
              </label>
              <input
                id={id(`row-name-${row.key}`)}
                className="jp-mod-styled wd-conn-input"
                data-testid="wd-conn-row-name"
                type="text"
                spellCheck={false}
                required
                value={row.name}
                onChange={event => {
                  const text = event.target.value;
                  setRows(current =>
                    current.map(r => (r.key === row.key ? { ...r, name: text } : r))
                  );
                }}
              />
              <label className="wd-conn-label" htmlFor={id(`row-value-${row.key}`)}>
                {trans.__('Field %1 value', index + 1)}
              </label>
              <input
                id={id(`row-value-${row.key}`)}
                ref={secretRef(`row:${row.key}`)}
                className="jp-mod-styled wd-conn-input"
                data-testid="wd-conn-row-value"
                type="password"
                autoComplete="new-password"
                required
              />
              {rows.length > 1 && (
                <button
                  type="button"
                  className="jp-mod-styled wd-conn-button"
                  aria-label={trans.__('Remove field %1', index + 1)}
                  onClick={() => setRows(current => current.filter(r => r.key !== row.key))}
                >
                  {trans.__('Remove field')}
                </button>
              )}
            </div>
          ))}
        {kind.open && (
          <button
            type="button"
            className="jp-mod-styled wd-conn-button"
            data-testid="wd-conn-add-row"
            onClick={() => setRows(current => [...current, { key: nextRow.current++, name: '' }])}
          >
            {trans.__('Add a field')}
          </button>
        )}
      </div>

      {error !== null && (
        <p className="wd-conn-error" role="alert" data-testid="wd-conn-error">
          {error}
        </p>
      )}
      <div className="wd-conn-actions">
        <button
          type="submit"
          className="jp-mod-styled jp-mod-accept wd-conn-button"
          data-testid="wd-conn-submit"
          disabled={busy}
        >
          {trans.__('Add')}
        </button>
        <button
          type="button"
          className="jp-mod-styled wd-conn-button"
          onClick={() => {
            clearSecrets();
            onCancel();
          }}
        >
          {trans.__('Cancel')}
        </button>
      </div>
    </form>
  );
}

function initialPublicValues(fields: IFormField[]): Record<string, string> {
  const values: Record<string, string> = {};
  for (const field of fields) {
    if (!field.secret) {
      values[field.name] = field.initial;
    }
  }
  return values;
}

/** One field of a registry kind, as the control `formFields` chose for it. */
function FieldControl(props: {
  id: string;
  field: IFormField;
  value: string;
  onChange: (value: string) => void;
  secretRef: (element: SecretElement | null) => void;
  trans: TranslationBundle;
}): JSX.Element {
  const { id, field, value, onChange, secretRef, trans } = props;
  const label = field.required ? field.name : trans.__('%1 (optional)', field.name);
  const describedBy = field.description ? `${id}-description` : undefined;
  const textArea = React.useRef<HTMLTextAreaElement | null>(null);

  let control: JSX.Element;
  switch (field.input) {
    case 'select':
      control = (
        <select
          id={id}
          className="jp-mod-styled wd-conn-input"
          data-field={field.name}
          required={field.required}
          aria-describedby={describedBy}
          value={value}
          onChange={event => onChange(event.target.value)}
        >
          {field.choices.map(choice => (
            <option key={choice} value={choice}>
              {choice}
            </option>
          ))}
        </select>
      );
      break;
    case 'text':
      control = (
        <input
          id={id}
          className="jp-mod-styled wd-conn-input"
          data-field={field.name}
          type="text"
          required={field.required}
          spellCheck={false}
          aria-describedby={describedBy}
          value={value}
          onChange={event => onChange(event.target.value)}
        />
      );
      break;
    case 'password':
      control = (
        <input
          id={id}
          ref={secretRef}
          className="jp-mod-styled wd-conn-input"
          data-field={field.name}
          type="password"
          autoComplete="new-password"
          required={field.required}
          aria-describedby={describedBy}
        />
      );
      break;
    case 'pem':
      control = (
        <textarea
          id={id}
          ref={element => {
            textArea.current = element;
            secretRef(element);
          }}
          className="jp-mod-styled wd-conn-input wd-conn-pem"
          data-field={field.name}
          required={field.required}
          rows={4}
          autoComplete="off"
          spellCheck={false}
          aria-describedby={describedBy}
          placeholder={trans.__('Paste the key, or load it from a file')}
        />
      );
      break;
  }
  return (
    <div className="wd-conn-control">
      <label className="wd-conn-label" htmlFor={id}>
        {label}
      </label>
      {control}
      {field.description && (
        <p id={describedBy} className="wd-conn-description">
          {field.description}
        </p>
      )}
      {field.input === 'pem' && (
        <label className="wd-conn-file">
          <span>{trans.__('Load %1 from a file', field.name)}</span>
          <input
            type="file"
            data-field-file={field.name}
            onChange={event => {
              const picker = event.currentTarget;
              const file = picker.files?.[0];
              // The file is read here, in the browser; only the form's request sends it.
              void file?.text().then(text => {
                if (textArea.current) {
                  textArea.current.value = text;
                }
              });
              picker.value = '';
            }}
          />
        </label>
      )}
    </div>
  );
}
