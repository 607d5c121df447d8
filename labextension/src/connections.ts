/**
 * Connections as the server describes them, and the add form built from a kind's description.
 *
 * The form is derived here, away from React, so that the rule "a secret never goes into a plain
 * text input" is one pure function a unit test can hold to, whatever the components look like.
 */

/** How much of a field's value the server ever shows: all of it, a hint, or nothing. */
export type FieldVisibility = 'public' | 'hint' | 'secret';

export interface IKindField {
  name: string;
  visibility: FieldVisibility;
  required: boolean;
  choices: string[];
  default: string | null;
  description: string;
  /** The value is usually a file the service gave the user (a PEM key). */
  fromFile: boolean;
}

export interface IKindDescription {
  /** The kind, or for a family its pattern (`ccxt:<exchange id>`). */
  kind: string;
  description: string;
  /** Any field names are accepted (the user adds name/value rows). */
  open: boolean;
  /** Kinds named `<kind>:<variant>`; the user types the variant. */
  family: boolean;
  fields: IKindField[];
}

/** One connection as listed: never a secret value, only what the server chose to mask. */
export interface IConnectionSummary {
  id: string;
  /** `null` when the record no longer decrypts. */
  name: string | null;
  kind: string | null;
  /** Public values in full, hints masked, secrets as `***`. */
  fields: Record<string, string>;
  status: 'ok' | 'corrupted';
  error: string | null;
}

/** Which control a field gets in the add form. */
export type InputKind = 'password' | 'text' | 'select' | 'pem';

export interface IFormField {
  name: string;
  input: InputKind;
  required: boolean;
  /** For `select`: the choices, and the one chosen at first. */
  choices: string[];
  initial: string;
  description: string;
  /** True for every control whose value must leave the DOM the moment the form is sent. */
  secret: boolean;
}

/** The name the variant is typed into for a family (`ccxt:<exchange id>` → `ccxt`). */
export function familyPrefix(kind: IKindDescription): string {
  const colon = kind.kind.indexOf(':');
  return colon < 0 ? kind.kind : kind.kind.slice(0, colon);
}

/** What the variant stands for, from the pattern (`ccxt:<exchange id>` → `exchange id`). */
export function variantLabel(kind: IKindDescription): string {
  const match = /<([^>]+)>/.exec(kind.kind);
  return match ? match[1] : '';
}

/** The kind to send: a family's prefix joined to the typed variant, else the kind itself. */
export function kindToSend(kind: IKindDescription, variant: string): string {
  return kind.family ? `${familyPrefix(kind)}:${variant.trim()}` : kind.kind;
}

/**
 * The add form's controls for a kind, in the registry's order.
 *
 * Anything not public is a password control (a hint is still a credential; only its masked form
 * may be shown). A value that comes from a file is a masked text area with a file picker, and
 * choices are a select starting on the default.
 */
export function formFields(kind: IKindDescription): IFormField[] {
  return kind.fields.map(field => {
    const secret = field.visibility !== 'public';
    let input: InputKind;
    if (field.fromFile) {
      input = 'pem';
    } else if (secret) {
      input = 'password';
    } else if (field.choices.length > 0) {
      input = 'select';
    } else {
      input = 'text';
    }
    const initial =
      input === 'select'
        ? (field.default ?? field.choices[0])
        : secret
          ? ''
          : (field.default ?? '');
    return {
      name: field.name,
      input,
      required: field.required,
      choices: input === 'select' ? [...field.choices] : [],
      initial,
      description: field.description,
      secret: secret || field.fromFile
    };
  });
}

/** A kind description from the wire, or `null` when this version cannot read it. */
export function parseKind(value: unknown): IKindDescription | null {
  if (!isObject(value)) {
    return null;
  }
  const { kind, description, open, family, fields } = value;
  if (
    typeof kind !== 'string' ||
    typeof open !== 'boolean' ||
    typeof family !== 'boolean' ||
    !Array.isArray(fields)
  ) {
    return null;
  }
  const parsed: IKindField[] = [];
  for (const field of fields) {
    const one = parseField(field);
    if (one === null) {
      return null;
    }
    parsed.push(one);
  }
  return {
    kind,
    description: typeof description === 'string' ? description : '',
    open,
    family,
    fields: parsed
  };
}

/** A listed connection from the wire, or `null` when this version cannot read it. */
export function parseConnection(value: unknown): IConnectionSummary | null {
  if (!isObject(value)) {
    return null;
  }
  const { id, name, kind, fields, status, error } = value;
  if (
    typeof id !== 'string' ||
    !(typeof name === 'string' || name === null) ||
    !(typeof kind === 'string' || kind === null) ||
    !isObject(fields)
  ) {
    return null;
  }
  const masked: Record<string, string> = {};
  for (const [key, shown] of Object.entries(fields)) {
    if (typeof shown !== 'string') {
      return null;
    }
    masked[key] = shown;
  }
  return {
    id,
    name,
    kind,
    fields: masked,
    status: status === 'corrupted' ? 'corrupted' : 'ok',
    error: typeof error === 'string' ? error : null
  };
}

const VISIBILITIES: readonly string[] = ['public', 'hint', 'secret'];

function parseField(value: unknown): IKindField | null {
  if (!isObject(value)) {
    return null;
  }
  const { name, visibility, required, choices, description } = value;
  if (
    typeof name !== 'string' ||
    typeof visibility !== 'string' ||
    !VISIBILITIES.includes(visibility) ||
    typeof required !== 'boolean'
  ) {
    return null;
  }
  const fallback = value.default;
  return {
    name,
    visibility: visibility as FieldVisibility,
    required,
    choices: Array.isArray(choices)
      ? choices.filter((c): c is string => typeof c === 'string')
      : [],
    default: typeof fallback === 'string' ? fallback : null,
    description: typeof description === 'string' ? description : '',
    fromFile: value.from_file === true
  };
}

/** The words to show for a failed call: the server's own message when it gave one. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
