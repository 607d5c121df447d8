/**
 * What the Fix with AI dialog shows: the payload before it leaves, the password that sends it,
 * and the proposal as an explanation and a diff.
 *
 * Everything shown is text someone else chose (the cell, its error, the model's reply): it is
 * only ever given to React as text, which escapes it, never as HTML.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { IFixPayload, IFixProposal, payloadMessage } from './client';
import { diffStats, IDiffLine, parseUnifiedDiff } from './diff';
import { FixSession, FixStep } from './session';

/** The payload as it will be sent: a summary, the message the model reads, the exact body. */
export function PayloadView(props: {
  payload: IFixPayload;
  trans: TranslationBundle;
}): JSX.Element {
  const { payload, trans } = props;
  const message = payloadMessage(payload.body);
  return (
    <section className="wd-aifix-payload" data-testid="wd-aifix-payload">
      <h3 className="wd-aifix-heading">{trans.__('What will be sent to Anthropic')}</h3>
      <dl className="wd-aifix-facts" data-testid="wd-aifix-summary">
        <div>
          <dt>{trans.__('Size')}</dt>
          <dd>{trans.__('%1 bytes', payload.size)}</dd>
        </div>
        <div>
          <dt>{trans.__('Model')}</dt>
          <dd>{payload.model}</dd>
        </div>
        <div>
          <dt>{trans.__('Secrets redacted')}</dt>
          <dd data-testid="wd-aifix-redactions">{payload.redactions}</dd>
        </div>
        <div>
          <dt>{trans.__('SHA-256')}</dt>
          <dd className="wd-aifix-hash" data-testid="wd-aifix-sha256">
            {payload.sha256}
          </dd>
        </div>
      </dl>
      {payload.tracebackCut && (
        <p className="wd-aifix-note">{trans.__('The middle of a long traceback is left out.')}</p>
      )}
      {message !== null && (
        <>
          <h4 className="wd-aifix-subheading">{trans.__('The message to the model')}</h4>
          <pre className="wd-aifix-pre" data-testid="wd-aifix-message" tabIndex={0}>
            {message}
          </pre>
        </>
      )}
      <details className="wd-aifix-details">
        <summary>{trans.__('The exact request body (its SHA-256 is above)')}</summary>
        <pre className="wd-aifix-pre" data-testid="wd-aifix-body" tabIndex={0}>
          {payload.body}
        </pre>
      </details>
    </section>
  );
}

/** A unified diff, numbered and coloured by line kind. */
export function DiffView(props: { diff: string; trans: TranslationBundle }): JSX.Element {
  const { diff, trans } = props;
  const lines = parseUnifiedDiff(diff);
  const { added, removed } = diffStats(lines);
  return (
    <figure className="wd-aifix-diff" data-testid="wd-aifix-diff">
      <figcaption className="wd-aifix-subheading">
        {trans.__('Changes to the cell: %1 added, %2 removed', added, removed)}
      </figcaption>
      <div className="wd-aifix-diffLines" role="table" aria-label={trans.__('Proposed changes')}>
        {lines.map((line, index) => (
          <DiffRow key={index} line={line} trans={trans} />
        ))}
      </div>
    </figure>
  );
}

function DiffRow(props: { line: IDiffLine; trans: TranslationBundle }): JSX.Element {
  const { line, trans } = props;
  const label =
    line.kind === 'added'
      ? trans.__('added')
      : line.kind === 'removed'
        ? trans.__('removed')
        : undefined;
  return (
    <div
      className={`wd-aifix-diffLine wd-aifix-mod-${line.kind}`}
      role="row"
      data-kind={line.kind}
      aria-label={label}
    >
      <span className="wd-aifix-lineNumber" role="cell">
        {line.oldNumber ?? ''}
      </span>
      <span className="wd-aifix-lineNumber" role="cell">
        {line.newNumber ?? ''}
      </span>
      <code className="wd-aifix-lineText" role="cell">
        {line.text}
      </code>
    </div>
  );
}

/** The explanation and the diff, or why no fix was proposed. */
export function ProposalView(props: {
  proposal: IFixProposal;
  trans: TranslationBundle;
}): JSX.Element {
  const { proposal, trans } = props;
  const usage =
    proposal.inputTokens !== null && proposal.outputTokens !== null
      ? trans.__(
          '%1, %2 tokens in, %3 out',
          proposal.model,
          proposal.inputTokens,
          proposal.outputTokens
        )
      : proposal.model;
  return (
    <section className="wd-aifix-proposal" data-testid="wd-aifix-proposal">
      <h3 className="wd-aifix-heading">
        {proposal.outcome === 'fixed' ? trans.__('Proposed fix') : trans.__('No fix proposed')}
      </h3>
      <p className="wd-aifix-usage">{usage}</p>
      {proposal.outcome === 'no_fix' && proposal.noFixReason !== null && (
        <p className="wd-aifix-note" data-testid="wd-aifix-no-fix">
          {proposal.noFixReason}
        </p>
      )}
      <p className="wd-aifix-explanation" data-testid="wd-aifix-explanation">
        {proposal.explanation}
      </p>
      {proposal.outcome === 'fixed' && <DiffView diff={proposal.diff} trans={trans} />}
      {proposal.sourceRedacted && (
        <p className="wd-aifix-note" data-testid="wd-aifix-redacted-note">
          {trans.__(
            'The cell held a secret, sent as a [REDACTED:...] marker: the proposal keeps the marker in its place. Read the value with wd.connection() instead of pasting it back.'
          )}
        </p>
      )}
    </section>
  );
}

/** The whole dialog body for one session, following its steps. */
export function FixDialogView(props: {
  session: FixSession;
  trans: TranslationBundle;
  /** Close the dialog and show the vault card, where a locked vault is unlocked. */
  onUnlock?: () => void;
}): JSX.Element {
  const { session, trans, onUnlock } = props;
  const [, setTick] = React.useState(0);
  React.useEffect(() => {
    const onChange = (): void => setTick(tick => tick + 1);
    session.changed.connect(onChange);
    return () => {
      session.changed.disconnect(onChange);
    };
  }, [session]);
  const step = session.step;

  return (
    <div className="wd-aifix-body" data-testid="wd-aifix-dialog" data-step={step.kind}>
      <p className="wd-aifix-status" role="status" data-testid="wd-aifix-status">
        {session.status()}
      </p>
      <StepView session={session} step={step} trans={trans} onUnlock={onUnlock} />
    </div>
  );
}

function StepView(props: {
  session: FixSession;
  step: FixStep;
  trans: TranslationBundle;
  onUnlock?: () => void;
}): JSX.Element | null {
  const { session, step, trans, onUnlock } = props;
  switch (step.kind) {
    case 'previewing':
      return null;
    case 'preview-failed':
      return (
        <>
          <ErrorLine message={step.error} />
          <div className="wd-aifix-actions">
            <button
              type="button"
              className="jp-mod-styled jp-mod-accept wd-aifix-button"
              data-testid="wd-aifix-retry"
              onClick={() => void session.start()}
            >
              {trans.__('Try again')}
            </button>
            {step.locked && onUnlock && (
              <button
                type="button"
                className="jp-mod-styled wd-aifix-button"
                data-testid="wd-aifix-unlock"
                onClick={onUnlock}
              >
                {trans.__('Unlock in WatchDog Lab')}
              </button>
            )}
            <CloseButton session={session} trans={trans} />
          </div>
        </>
      );
    case 'preview':
    case 'sending':
      return (
        <>
          <PayloadView payload={step.payload} trans={trans} />
          <SendForm session={session} step={step} trans={trans} />
        </>
      );
    case 'proposal':
    case 'applying':
      return (
        <>
          <ProposalView proposal={step.proposal} trans={trans} />
          {step.kind === 'proposal' && <ErrorLine message={step.error} />}
          <div className="wd-aifix-actions">
            {step.proposal.outcome === 'fixed' && (
              <button
                type="button"
                className="jp-mod-styled jp-mod-accept wd-aifix-button"
                data-testid="wd-aifix-accept"
                disabled={step.kind === 'applying'}
                aria-busy={step.kind === 'applying'}
                onClick={() => void session.accept()}
              >
                {session.target.applyLabel}
              </button>
            )}
            <button
              type="button"
              className="jp-mod-styled jp-mod-reject wd-aifix-button"
              data-testid="wd-aifix-reject"
              disabled={step.kind === 'applying'}
              onClick={() => session.reject()}
            >
              {step.proposal.outcome === 'fixed' ? trans.__('Reject') : trans.__('Close')}
            </button>
          </div>
        </>
      );
    case 'confirming':
      return (
        <>
          <ProposalView proposal={step.proposal} trans={trans} />
          <PublishForm session={session} error={step.error} trans={trans} />
        </>
      );
    case 'applied':
      return (
        <>
          <p className="wd-aifix-done" data-testid="wd-aifix-applied">
            {step.message}
          </p>
          <div className="wd-aifix-actions">
            <CloseButton session={session} trans={trans} />
          </div>
        </>
      );
    case 'rejected':
      return null;
  }
}

function CloseButton(props: { session: FixSession; trans: TranslationBundle }): JSX.Element {
  return (
    <button
      type="button"
      className="jp-mod-styled jp-mod-reject wd-aifix-button"
      data-testid="wd-aifix-close"
      onClick={() => props.session.close()}
    >
      {props.trans.__('Close')}
    </button>
  );
}

function ErrorLine(props: { message: string | null }): JSX.Element | null {
  return props.message === null ? null : (
    <p className="wd-aifix-error" role="alert" data-testid="wd-aifix-error">
      {props.message}
    </p>
  );
}

/** The vault password that sends the payload shown above; emptied as it is read. */
function SendForm(props: {
  session: FixSession;
  step: Extract<FixStep, { kind: 'preview' | 'sending' }>;
  trans: TranslationBundle;
}): JSX.Element {
  const { session, step, trans } = props;
  const passwordId = React.useId();
  const connectionId = React.useId();
  const password = React.useRef<HTMLInputElement>(null);
  const sending = step.kind === 'sending';
  const error = step.kind === 'preview' ? step.error : null;
  const stale = step.kind === 'preview' && step.stale;

  React.useEffect(() => {
    if (step.kind === 'preview' && !step.stale) {
      password.current?.focus();
    }
  }, [step]);

  const submit = (event: React.FormEvent): void => {
    event.preventDefault();
    const input = password.current;
    if (input === null || sending || stale) {
      return;
    }
    const value = input.value;
    input.value = '';
    void session.send(value);
  };

  const connections = session.connections;
  return (
    <form className="wd-aifix-form" data-testid="wd-aifix-send-form" onSubmit={submit}>
      {connections.length > 1 && (
        <div className="wd-aifix-field">
          <label className="wd-aifix-label" htmlFor={connectionId}>
            {trans.__('Anthropic connection')}
          </label>
          <select
            id={connectionId}
            className="jp-mod-styled wd-aifix-input"
            data-testid="wd-aifix-connection"
            value={session.connection ?? ''}
            required
            onChange={event => {
              session.connection = event.currentTarget.value || null;
            }}
          >
            <option value="">{trans.__('Choose a connection')}</option>
            {connections.map(name => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </div>
      )}
      {!stale && (
        <div className="wd-aifix-field">
          <label className="wd-aifix-label" htmlFor={passwordId}>
            {trans.__('Vault password to send this payload')}
          </label>
          <input
            id={passwordId}
            ref={password}
            className="jp-mod-styled wd-aifix-input"
            data-testid="wd-aifix-password"
            type="password"
            autoComplete="current-password"
            required
            disabled={sending}
          />
        </div>
      )}
      <ErrorLine message={error} />
      <div className="wd-aifix-actions">
        {stale ? (
          <button
            type="button"
            className="jp-mod-styled jp-mod-accept wd-aifix-button"
            data-testid="wd-aifix-retry"
            onClick={() => void session.start()}
          >
            {trans.__('Preview again')}
          </button>
        ) : (
          <button
            type="submit"
            className="jp-mod-styled jp-mod-accept wd-aifix-button"
            data-testid="wd-aifix-send"
            disabled={sending}
            aria-busy={sending}
          >
            {sending ? trans.__('Sending…') : trans.__('Send')}
          </button>
        )}
        <button
          type="button"
          className="jp-mod-styled jp-mod-reject wd-aifix-button"
          data-testid="wd-aifix-cancel"
          disabled={sending}
          onClick={() => session.reject()}
        >
          {trans.__('Cancel')}
        </button>
      </div>
    </form>
  );
}

/** Confirms a bot's publish with the vault password; emptied as it is read. */
function PublishForm(props: {
  session: FixSession;
  error: string | null;
  trans: TranslationBundle;
}): JSX.Element {
  const { session, error, trans } = props;
  const id = React.useId();
  const password = React.useRef<HTMLInputElement>(null);
  const [busy, setBusy] = React.useState(false);

  React.useEffect(() => {
    password.current?.focus();
  }, [error]);

  const submit = (event: React.FormEvent): void => {
    event.preventDefault();
    const input = password.current;
    if (input === null || busy) {
      return;
    }
    const value = input.value;
    input.value = '';
    setBusy(true);
    void session.confirm(value).finally(() => setBusy(false));
  };

  return (
    <form className="wd-aifix-form" data-testid="wd-aifix-publish-form" onSubmit={submit}>
      <p className="wd-aifix-note">
        {trans.__(
          'Publishing makes the proposed cell the next notebook version of %1 and restarts it if it should be running. Rollback returns to the version before.',
          session.target.title
        )}
      </p>
      <div className="wd-aifix-field">
        <label className="wd-aifix-label" htmlFor={id}>
          {trans.__('Vault password to publish')}
        </label>
        <input
          id={id}
          ref={password}
          className="jp-mod-styled wd-aifix-input"
          data-testid="wd-aifix-publish-password"
          type="password"
          autoComplete="current-password"
          required
          disabled={busy}
        />
      </div>
      <ErrorLine message={error} />
      <div className="wd-aifix-actions">
        <button
          type="submit"
          className="jp-mod-styled jp-mod-warn wd-aifix-button"
          data-testid="wd-aifix-publish"
          disabled={busy}
          aria-busy={busy}
        >
          {session.target.applyLabel}
        </button>
        <button
          type="button"
          className="jp-mod-styled wd-aifix-button"
          data-testid="wd-aifix-back"
          disabled={busy}
          onClick={() => session.back()}
        >
          {trans.__('Back')}
        </button>
      </div>
    </form>
  );
}
