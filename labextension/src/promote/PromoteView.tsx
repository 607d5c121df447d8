import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { WatchdogApiClient } from '../api';
import { errorMessage } from '../connections';
import {
  formProblems,
  initialForm,
  IPlannedDependency,
  IPromoteForm,
  IPromoteJob,
  IPromotePlan,
  Mode,
  promoteRequest,
  stepViews
} from './model';

/** Milliseconds between two looks at a running promote job. */
export const JOB_POLL_MS = 500;

export interface IPromoteViewProps {
  api: WatchdogApiClient;
  /** The notebook's path as the file browser shows it (the notebook is already saved). */
  notebook: string;
  trans: TranslationBundle;
  onClose: () => void;
  /** Once the bot exists (the Bots card lists again). */
  onPromoted: (botName: string) => void;
  /** How long to wait between two job polls; tests shorten it. */
  pollMs?: number;
}

type Phase =
  | { kind: 'planning' }
  | { kind: 'plan-failed'; message: string }
  | { kind: 'form'; plan: IPromotePlan; error: string | null }
  | { kind: 'running'; plan: IPromotePlan; job: IPromoteJob }
  | { kind: 'done'; plan: IPromotePlan; job: IPromoteJob };

/**
 * The promote dialog: the notebook's dependencies with the install policy's verdicts, its
 * parameters, the bot's name, mode and connections; then the promote's steps as they happen.
 *
 * The vault password (asked for only when connections are granted) lives in its input alone,
 * never in React state: it is read when the request is sent and the input is emptied then.
 */
export function PromoteView(props: IPromoteViewProps): JSX.Element {
  const { api, notebook, trans, onClose, onPromoted } = props;
  const pollMs = props.pollMs ?? JOB_POLL_MS;
  const [phase, setPhase] = React.useState<Phase>({ kind: 'planning' });
  const [form, setForm] = React.useState<IPromoteForm | null>(null);
  const [connections, setConnections] = React.useState<string[] | null>(null);
  const [connectionsNote, setConnectionsNote] = React.useState<string | null>(null);
  const password = React.useRef<HTMLInputElement>(null);
  const alive = React.useRef(true);

  React.useEffect(() => {
    alive.current = true;
    void api
      .planPromote(notebook)
      .then(plan => {
        if (alive.current) {
          setForm(initialForm(plan));
          setPhase({ kind: 'form', plan, error: null });
        }
      })
      .catch(error => {
        if (alive.current) {
          setPhase({ kind: 'plan-failed', message: errorMessage(error) });
        }
      });
    void api
      .listConnections()
      .then(list => {
        if (alive.current) {
          setConnections(list.map(c => c.name).filter((n): n is string => n !== null));
        }
      })
      .catch(error => {
        if (alive.current) {
          setConnections([]);
          setConnectionsNote(errorMessage(error));
        }
      });
    return () => {
      alive.current = false;
    };
  }, [api, notebook]);

  const follow = async (plan: IPromotePlan, job: IPromoteJob): Promise<void> => {
    let current = job;
    while (alive.current && current.state === 'running') {
      setPhase({ kind: 'running', plan, job: current });
      await new Promise(resolve => setTimeout(resolve, pollMs));
      try {
        current = await api.promoteJob(current.id);
      } catch (error) {
        current = { ...current, state: 'failed', error: errorMessage(error) };
      }
    }
    if (!alive.current) {
      return;
    }
    if (current.state === 'done') {
      setPhase({ kind: 'done', plan, job: current });
      onPromoted(current.botName ?? '');
    } else {
      setPhase({ kind: 'running', plan, job: current });
    }
  };

  const send = async (plan: IPromotePlan, filled: IPromoteForm): Promise<void> => {
    const request = promoteRequest(filled, plan);
    let secret: string | undefined;
    if (request.connections.length > 0 && password.current) {
      secret = password.current.value;
      password.current.value = '';
    }
    setPhase({
      kind: 'running',
      plan,
      job: { id: '', state: 'running', steps: [], botName: null, error: null }
    });
    try {
      const job = await api.promote(request, secret);
      await follow(plan, job);
    } catch (error) {
      if (alive.current) {
        setPhase({ kind: 'form', plan, error: errorMessage(error) });
      }
    }
  };

  return (
    <div className="wd-promote-body" data-testid="wd-promote-dialog">
      {phase.kind === 'planning' && (
        <p className="jp-WatchdogLab-hint" role="status">
          {trans.__('Reading the notebook and checking its packages…')}
        </p>
      )}
      {phase.kind === 'plan-failed' && (
        <>
          <p className="wd-promote-error" role="alert" data-testid="wd-promote-error">
            {phase.message}
          </p>
          <div className="wd-promote-buttons">
            <button type="button" className="jp-mod-styled jp-mod-reject" onClick={onClose}>
              {trans.__('Close')}
            </button>
          </div>
        </>
      )}
      {phase.kind === 'form' && form && (
        <PromoteForm
          plan={phase.plan}
          form={form}
          error={phase.error}
          connections={connections}
          connectionsNote={connectionsNote}
          password={password}
          trans={trans}
          onChange={setForm}
          onCancel={onClose}
          onSubmit={() => void send(phase.plan, form)}
        />
      )}
      {(phase.kind === 'running' || phase.kind === 'done') && (
        <JobProgress
          job={phase.job}
          trans={trans}
          onBack={() => setPhase({ kind: 'form', plan: phase.plan, error: null })}
          onClose={onClose}
        />
      )}
    </div>
  );
}

interface IPromoteFormProps {
  plan: IPromotePlan;
  form: IPromoteForm;
  error: string | null;
  connections: string[] | null;
  connectionsNote: string | null;
  password: React.RefObject<HTMLInputElement>;
  trans: TranslationBundle;
  onChange: (form: IPromoteForm) => void;
  onCancel: () => void;
  onSubmit: () => void;
}

function PromoteForm(props: IPromoteFormProps): JSX.Element {
  const { plan, form, error, connections, connectionsNote, password, trans, onChange } = props;
  const [touched, setTouched] = React.useState(false);
  const problems = formProblems(form, plan, trans);
  const shown = touched ? problems : { ...problems, name: undefined, interval: undefined };
  const set = (patch: Partial<IPromoteForm>): void => onChange({ ...form, ...patch });
  const toggle = (list: string[], item: string, on: boolean): string[] =>
    on ? [...list.filter(x => x !== item), item] : list.filter(x => x !== item);

  const submit = (event: React.FormEvent): void => {
    event.preventDefault();
    setTouched(true);
    if (Object.keys(problems).length === 0) {
      props.onSubmit();
    }
  };

  return (
    <form className="wd-promote-form" onSubmit={submit} noValidate>
      <p className="wd-promote-notebook">
        {trans.__('Notebook')}: <code>{plan.notebook}</code>
      </p>
      <label className="wd-promote-field">
        <span>{trans.__('Bot name')}</span>
        <input
          className="jp-mod-styled"
          data-testid="wd-promote-name"
          autoFocus
          value={form.name}
          maxLength={64}
          aria-invalid={shown.name ? true : undefined}
          aria-describedby={shown.name ? 'wd-promote-name-problem' : undefined}
          onChange={event => set({ name: event.target.value })}
          onBlur={() => setTouched(true)}
        />
      </label>
      {shown.name && (
        <p className="wd-promote-problem" id="wd-promote-name-problem">
          {shown.name}
        </p>
      )}

      <fieldset className="wd-promote-group" data-testid="wd-promote-mode">
        <legend>{trans.__('Runs')}</legend>
        {(['once', 'every', 'continuous'] as Mode[]).map(mode => (
          <label key={mode} className="wd-promote-choice">
            <input
              type="radio"
              name="wd-promote-mode"
              value={mode}
              checked={form.mode === mode}
              onChange={() => set({ mode })}
            />
            {modeLabel(mode, trans)}
          </label>
        ))}
        {form.mode === 'every' && (
          <label className="wd-promote-field wd-promote-interval">
            <span>{trans.__('Seconds between runs')}</span>
            <input
              className="jp-mod-styled"
              data-testid="wd-promote-interval"
              inputMode="decimal"
              value={form.interval}
              aria-invalid={shown.interval ? true : undefined}
              onChange={event => set({ interval: event.target.value })}
            />
          </label>
        )}
        {shown.interval && <p className="wd-promote-problem">{shown.interval}</p>}
        <label
          className="wd-promote-choice"
          title={trans.__(
            'State leaks between runs and memory can grow; a failed run restarts the kernel fresh. wd.state is the durable way to keep state.'
          )}
        >
          <input
            type="checkbox"
            data-testid="wd-promote-reuse-kernel"
            checked={form.reuseKernel}
            onChange={event => set({ reuseKernel: event.target.checked })}
          />
          {trans.__('Keep one kernel across runs (variables survive between runs)')}
        </label>
      </fieldset>

      <fieldset className="wd-promote-group" data-testid="wd-promote-parameters">
        <legend>{trans.__('Parameters')}</legend>
        {plan.parameters.length === 0 ? (
          <p className="jp-WatchdogLab-hint">
            {plan.hasParametersCell
              ? trans.__('The cell tagged "parameters" assigns nothing a bot can set.')
              : trans.__('No cell is tagged "parameters": the notebook runs as written.')}
          </p>
        ) : (
          plan.parameters.map(parameter => (
            <label key={parameter.name} className="wd-promote-field wd-promote-parameter">
              <span>
                <code>{parameter.name}</code>
              </span>
              <input
                className="jp-mod-styled"
                data-testid={`wd-promote-param-${parameter.name}`}
                value={form.parameters[parameter.name] ?? ''}
                title={trans.__('Notebook default: %1', parameter.default)}
                onChange={event =>
                  set({ parameters: { ...form.parameters, [parameter.name]: event.target.value } })
                }
              />
            </label>
          ))
        )}
      </fieldset>

      <fieldset className="wd-promote-group" data-testid="wd-promote-connections">
        <legend>{trans.__('Connections')}</legend>
        {connections === null ? (
          <p className="jp-WatchdogLab-hint">{trans.__('Loading connections…')}</p>
        ) : connections.length === 0 ? (
          <p className="jp-WatchdogLab-hint">
            {connectionsNote ?? trans.__('No connections in the vault.')}
          </p>
        ) : (
          connections.map(name => (
            <label key={name} className="wd-promote-choice">
              <input
                type="checkbox"
                data-testid="wd-promote-connection"
                data-name={name}
                checked={form.connections.includes(name)}
                onChange={event =>
                  set({ connections: toggle(form.connections, name, event.target.checked) })
                }
              />
              {name}
            </label>
          ))
        )}
        {form.connections.length > 0 && (
          <label className="wd-promote-field">
            <span>{trans.__('Vault password (the bot will hold these keys)')}</span>
            <input
              ref={password}
              className="jp-mod-styled"
              type="password"
              autoComplete="current-password"
              data-testid="wd-promote-password"
            />
          </label>
        )}
      </fieldset>

      <fieldset className="wd-promote-group" data-testid="wd-promote-dependencies">
        <legend>{trans.__('Packages to install')}</legend>
        {plan.dependencies.length === 0 ? (
          <p className="jp-WatchdogLab-hint">
            {trans.__('None: the notebook uses the standard library only.')}
          </p>
        ) : (
          <ul className="wd-promote-deps">
            {plan.dependencies.map(dependency => (
              <DependencyRow
                key={dependency.spec}
                dependency={dependency}
                allowed={form.allow.includes(dependency.name ?? dependency.spec)}
                trans={trans}
                onAllow={on =>
                  set({ allow: toggle(form.allow, dependency.name ?? dependency.spec, on) })
                }
              />
            ))}
          </ul>
        )}
        {plan.warnings.length > 0 && (
          <ul className="wd-promote-warnings">
            {plan.warnings.map(warning => (
              <li key={warning}>{warning}</li>
            ))}
          </ul>
        )}
      </fieldset>

      <label className="wd-promote-choice">
        <input
          type="checkbox"
          data-testid="wd-promote-start"
          checked={form.start}
          onChange={event => set({ start: event.target.checked })}
        />
        {trans.__('Start the bot once it is promoted')}
      </label>
      {problems.dependencies && (
        <p className="wd-promote-problem" data-testid="wd-promote-blocked">
          {problems.dependencies}
        </p>
      )}
      {error !== null && (
        <p className="wd-promote-error" role="alert" data-testid="wd-promote-error">
          {error}
        </p>
      )}
      <div className="wd-promote-buttons">
        <button type="button" className="jp-mod-styled jp-mod-reject" onClick={props.onCancel}>
          {trans.__('Cancel')}
        </button>
        <button
          type="submit"
          className="jp-mod-styled jp-mod-accept"
          data-testid="wd-promote-submit"
          disabled={problems.dependencies !== undefined}
        >
          {trans.__('Promote')}
        </button>
      </div>
    </form>
  );
}

function DependencyRow(props: {
  dependency: IPlannedDependency;
  allowed: boolean;
  trans: TranslationBundle;
  onAllow: (on: boolean) => void;
}): JSX.Element {
  const { dependency, allowed, trans, onAllow } = props;
  const verdict = verdictText(dependency, trans);
  return (
    <li
      className={`wd-promote-dep wd-promote-mod-${dependency.verdict}`}
      data-testid="wd-promote-dep"
      data-spec={dependency.spec}
      data-verdict={dependency.verdict}
    >
      <div className="wd-promote-depHeader">
        <code className="wd-promote-spec">{dependency.spec}</code>
        <span className="wd-promote-verdict">{verdict}</span>
      </div>
      {dependency.origins.length > 0 && (
        <p className="wd-promote-origin">{dependency.origins.join('; ')}</p>
      )}
      {dependency.reason && <p className="wd-promote-reason">{dependency.reason}</p>}
      {dependency.verdict === 'flagged' && (
        <label className="wd-promote-choice wd-promote-allow">
          <input
            type="checkbox"
            data-testid="wd-promote-allow"
            checked={allowed}
            onChange={event => onAllow(event.target.checked)}
          />
          {trans.__('Allow %1: I checked it is the package I mean', dependency.name ?? '')}
        </label>
      )}
    </li>
  );
}

function JobProgress(props: {
  job: IPromoteJob;
  trans: TranslationBundle;
  onBack: () => void;
  onClose: () => void;
}): JSX.Element {
  const { job, trans } = props;
  const steps = stepViews(job);
  const list = React.useRef<HTMLOListElement>(null);
  // The installer's lines can be many: the newest stays in view.
  React.useEffect(() => {
    const node = list.current;
    if (node) {
      node.scrollTop = node.scrollHeight;
    }
  }, [steps.length]);
  return (
    <div className="wd-promote-progress" data-testid="wd-promote-progress" data-state={job.state}>
      <ol className="wd-promote-steps" aria-live="polite" ref={list}>
        {steps.map((step, index) => (
          <li
            key={index}
            className={`wd-promote-step wd-promote-mod-${step.state}`}
            data-testid="wd-promote-step"
            data-state={step.state}
          >
            <span className="wd-promote-stepMark" aria-hidden="true">
              {step.state === 'done' ? '✓' : step.state === 'failed' ? '✗' : '…'}
            </span>
            {step.text}
          </li>
        ))}
      </ol>
      {job.state === 'running' && steps.length === 0 && (
        <p className="jp-WatchdogLab-hint" role="status">
          {trans.__('Sending…')}
        </p>
      )}
      {job.state === 'failed' && (
        <p className="wd-promote-error" role="alert" data-testid="wd-promote-error">
          {job.error ?? trans.__('The promote failed.')}
        </p>
      )}
      {job.state === 'done' && (
        <p className="wd-promote-done" role="status" data-testid="wd-promote-done">
          {trans.__('Promoted "%1": it is in the Bots card.', job.botName ?? '')}
        </p>
      )}
      <div className="wd-promote-buttons">
        {job.state === 'failed' && (
          <button type="button" className="jp-mod-styled" onClick={props.onBack}>
            {trans.__('Back')}
          </button>
        )}
        <button
          type="button"
          className="jp-mod-styled jp-mod-reject"
          data-testid="wd-promote-close"
          onClick={props.onClose}
        >
          {job.state === 'running' ? trans.__('Close (the promote goes on)') : trans.__('Close')}
        </button>
      </div>
    </div>
  );
}

function modeLabel(mode: Mode, trans: TranslationBundle): string {
  switch (mode) {
    case 'once':
      return trans.__('Once');
    case 'every':
      return trans.__('Every N seconds');
    case 'continuous':
      return trans.__('Continuously (restarted if it fails)');
  }
}

function verdictText(dependency: IPlannedDependency, trans: TranslationBundle): string {
  switch (dependency.verdict) {
    case 'approved':
      return dependency.allowed ? trans.__('allowed by you') : trans.__('allowed');
    case 'flagged':
      return trans.__('flagged (%1)', dependency.rule ?? '');
    case 'refused':
      return trans.__('refused (%1)', dependency.rule ?? '');
  }
}
