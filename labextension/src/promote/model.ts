/**
 * The promote dialog's models: the server's plan (dependencies with the policy's verdicts, and
 * the notebook's parameters) read defensively, the form's checks (the server's own rules, so
 * the user hears them before sending), the request built from the form, and a job's progress.
 *
 * Everything here is plain data and functions, so the rules are tested without a browser.
 */
import { TranslationBundle } from '@jupyterlab/translation';

/** The verdicts of the dependency policy (`Verdict` on the server). */
export const VERDICTS = ['approved', 'flagged', 'refused'] as const;
export type Verdict = (typeof VERDICTS)[number];

/** One package the notebook asks for, and what the policy says about it. */
export interface IPlannedDependency {
  spec: string;
  name: string | null;
  installedVersion: string | null;
  origins: string[];
  verdict: Verdict;
  rule: string | null;
  reason: string | null;
  /** Approved only because the user allowed it by name. */
  allowed: boolean;
}

/** An assignment of the notebook's `parameters` cell. */
export interface IPlannedParameter {
  name: string;
  /** The expression as the notebook writes it. */
  default: string;
  /** The default as JSON text when it is a plain literal (what the field starts with). */
  json: string | null;
}

export interface IPromotePlan {
  notebook: string;
  dependencies: IPlannedDependency[];
  ok: boolean;
  parameters: IPlannedParameter[];
  hasParametersCell: boolean;
  warnings: string[];
}

/** `POST promote/plan`'s answer, or `null` if it is not one this version can show. */
export function parsePlan(value: unknown): IPromotePlan | null {
  if (!isObject(value)) {
    return null;
  }
  const { notebook, dependencies, ok, parameters, has_parameters_cell, warnings } = value;
  if (
    typeof notebook !== 'string' ||
    typeof ok !== 'boolean' ||
    !Array.isArray(dependencies) ||
    !Array.isArray(parameters)
  ) {
    return null;
  }
  const deps = dependencies.map(parseDependency);
  const params = parameters.map(parseParameter);
  if (deps.some(d => d === null) || params.some(p => p === null)) {
    return null;
  }
  return {
    notebook,
    dependencies: deps as IPlannedDependency[],
    ok,
    parameters: params as IPlannedParameter[],
    hasParametersCell: has_parameters_cell === true,
    warnings: strings(warnings)
  };
}

function parseDependency(value: unknown): IPlannedDependency | null {
  if (!isObject(value)) {
    return null;
  }
  const { spec, name, installed_version, origins, verdict, rule, reason, allowed } = value;
  if (
    typeof spec !== 'string' ||
    typeof verdict !== 'string' ||
    !(VERDICTS as readonly string[]).includes(verdict)
  ) {
    return null;
  }
  return {
    spec,
    name: typeof name === 'string' ? name : null,
    installedVersion: typeof installed_version === 'string' ? installed_version : null,
    origins: strings(origins),
    verdict: verdict as Verdict,
    rule: typeof rule === 'string' ? rule : null,
    reason: typeof reason === 'string' ? reason : null,
    allowed: allowed === true
  };
}

function parseParameter(value: unknown): IPlannedParameter | null {
  if (!isObject(value) || typeof value.name !== 'string' || typeof value.default !== 'string') {
    return null;
  }
  return {
    name: value.name,
    default: value.default,
    json: value.literal === true ? JSON.stringify(value.value) : null
  };
}

// ------------------------------------------------------------------------------ the form

export const MODES = ['once', 'every', 'continuous'] as const;
export type Mode = (typeof MODES)[number];

/** The server's rule for bot names (`validate_name`): also the rule for connection names. */
export const NAME_MAX = 64;
const NAME_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9 _.-]*[A-Za-z0-9_.-])?$/;
const UUID_PATTERN =
  /^\{?(urn:uuid:)?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\}?$/i;
/** The longest interval the server takes: a week. */
export const MAX_INTERVAL_SECONDS = 7 * 86400;

/** What the user filled in. Parameters hold text; only those changed from the default are
 * sent, so an untouched one keeps the notebook's own value exactly. */
export interface IPromoteForm {
  name: string;
  mode: Mode;
  interval: string;
  parameters: Record<string, string>;
  connections: string[];
  /** Flagged names the user ticked "allow" for. */
  allow: string[];
  /** Keep one kernel across runs (in-memory state survives between them). */
  reuseKernel: boolean;
  /** Start the bot as soon as it is built. */
  start: boolean;
}

/** The form as the dialog opens it for `plan`. */
export function initialForm(plan: IPromotePlan): IPromoteForm {
  const parameters: Record<string, string> = {};
  for (const parameter of plan.parameters) {
    parameters[parameter.name] = initialText(parameter);
  }
  return {
    name: suggestedName(plan.notebook),
    mode: 'once',
    interval: '60',
    parameters,
    connections: [],
    allow: [],
    reuseKernel: false,
    start: false
  };
}

function initialText(parameter: IPlannedParameter): string {
  return parameter.json ?? parameter.default;
}

/** A bot name from the notebook's file name, fitted to the name rule (the user may change it). */
export function suggestedName(notebookPath: string): string {
  const file = notebookPath.split('/').pop() ?? '';
  const stem = file.replace(/\.ipynb$/i, '');
  const cleaned = stem
    .replace(/[^A-Za-z0-9 _.-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .replace(/ +$/, '')
    .slice(0, NAME_MAX)
    .replace(/ +$/, '');
  return cleaned || 'bot';
}

/** Why `name` is refused, in the server's words, or `null` if a bot may have it. */
export function nameProblem(name: string, trans: TranslationBundle): string | null {
  if (name.length < 1 || name.length > NAME_MAX) {
    return trans.__('Use 1 to %1 characters.', NAME_MAX);
  }
  if (!NAME_PATTERN.test(name)) {
    return trans.__(
      "Use letters, digits, space, '_', '.' and '-' only (ASCII), starting with a letter or digit and not ending with a space."
    );
  }
  if (UUID_PATTERN.test(name)) {
    return trans.__('A bot name may not look like a bot id (a UUID); add a word.');
  }
  return null;
}

/** Why the interval is refused, or `null`. */
export function intervalProblem(text: string, trans: TranslationBundle): string | null {
  const seconds = Number(text.trim());
  if (!text.trim() || !Number.isFinite(seconds) || seconds <= 0) {
    return trans.__('Give the seconds between runs, a number greater than 0.');
  }
  if (seconds > MAX_INTERVAL_SECONDS) {
    return trans.__('At most %1 seconds (a week).', MAX_INTERVAL_SECONDS);
  }
  return null;
}

/** Every problem of the form, by field (`name`, `interval`, `dependencies`). */
export function formProblems(
  form: IPromoteForm,
  plan: IPromotePlan,
  trans: TranslationBundle
): Record<string, string> {
  const problems: Record<string, string> = {};
  const name = nameProblem(form.name, trans);
  if (name) {
    problems.name = name;
  }
  if (form.mode === 'every') {
    const interval = intervalProblem(form.interval, trans);
    if (interval) {
      problems.interval = interval;
    }
  }
  const blocking = blockingDependencies(plan, form.allow);
  if (blocking.length > 0) {
    problems.dependencies = trans.__(
      'Refused by the install policy: %1. Change the notebook, or allow a flagged name you trust.',
      blocking.map(d => d.spec).join(', ')
    );
  }
  return problems;
}

/** The dependencies the promote would refuse with these allowances. */
export function blockingDependencies(plan: IPromotePlan, allow: string[]): IPlannedDependency[] {
  return plan.dependencies.filter(
    d => d.verdict === 'refused' || (d.verdict === 'flagged' && !allow.includes(d.name ?? d.spec))
  );
}

/**
 * A parameter's text as the value sent: JSON when the text is JSON (`10`, `true`, `[1, 2]`,
 * `"quoted"`), else the text itself, as the CLI's `--param` reads it.
 */
export function parameterValue(text: string): unknown {
  try {
    const value: unknown = JSON.parse(text);
    return value;
  } catch {
    return text;
  }
}

/** The body of `POST bots`, without the password (the dialog adds it only when sending). */
export interface IPromoteRequest {
  notebook: string;
  name: string;
  mode: Mode;
  interval?: number;
  parameters: Record<string, unknown>;
  connections: string[];
  allow_packages: string[];
  reuse_kernel?: boolean;
  start: boolean;
}

export function promoteRequest(form: IPromoteForm, plan: IPromotePlan): IPromoteRequest {
  const parameters: Record<string, unknown> = {};
  for (const parameter of plan.parameters) {
    const text = form.parameters[parameter.name];
    if (text !== undefined && text !== initialText(parameter)) {
      parameters[parameter.name] = parameterValue(text);
    }
  }
  const flagged = new Set(
    plan.dependencies.filter(d => d.verdict === 'flagged').map(d => d.name ?? d.spec)
  );
  const request: IPromoteRequest = {
    notebook: plan.notebook,
    name: form.name,
    mode: form.mode,
    parameters,
    connections: [...form.connections],
    allow_packages: form.allow.filter(name => flagged.has(name)),
    start: form.start
  };
  if (form.mode === 'every') {
    request.interval = Number(form.interval.trim());
  }
  if (form.reuseKernel) {
    request.reuse_kernel = true;
  }
  return request;
}

// ------------------------------------------------------------------------- the job

export const JOB_STATES = ['running', 'done', 'failed'] as const;
export type JobState = (typeof JOB_STATES)[number];

export interface IPromoteJob {
  id: string;
  state: JobState;
  steps: string[];
  /** The bot's name once done. */
  botName: string | null;
  error: string | null;
}

/** A `DescribeJob`, or `null`. */
export function parseJob(value: unknown): IPromoteJob | null {
  if (!isObject(value)) {
    return null;
  }
  const { id, state, steps, bot, error } = value;
  if (
    typeof id !== 'string' ||
    typeof state !== 'string' ||
    !(JOB_STATES as readonly string[]).includes(state)
  ) {
    return null;
  }
  return {
    id,
    state: state as JobState,
    steps: strings(steps),
    botName: isObject(bot) && typeof bot.name === 'string' ? bot.name : null,
    error: typeof error === 'string' ? error : null
  };
}

export type StepState = 'done' | 'current' | 'failed';

export interface IStepView {
  text: string;
  state: StepState;
}

/** The job's steps as the dialog lists them: every step but the last is done; the last is
 * under way while the job runs, done when it is done, failed when it failed. */
export function stepViews(job: IPromoteJob): IStepView[] {
  const last = job.steps.length - 1;
  return job.steps.map((text, index) => {
    if (index < last || job.state === 'done') {
      return { text, state: 'done' };
    }
    return { text, state: job.state === 'failed' ? 'failed' : 'current' };
  });
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
