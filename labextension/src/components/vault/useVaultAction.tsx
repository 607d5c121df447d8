import * as React from 'react';

export interface IVaultAction {
  busy: boolean;
  /** The last failure's message, as the server worded it; null after a success. */
  error: string | null;
  /** Run a submit: at most one at a time, its failure kept as `error` for the form to show. */
  run: (action: () => Promise<void>) => Promise<boolean>;
  /** A refusal decided in the browser (mismatch, empty), shown like a server's. */
  refuse: (message: string) => void;
}

export function useVaultAction(): IVaultAction {
  const [busy, setBusy] = React.useState(false);
  const [error, setError] = React.useState<string | null>(null);
  // A successful unlock or create replaces the form, so a submit often ends after unmount.
  const mounted = React.useRef(true);
  React.useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);

  const run = React.useCallback(async (action: () => Promise<void>): Promise<boolean> => {
    setBusy(true);
    setError(null);
    try {
      await action();
      return true;
    } catch (reason) {
      // The API client words every failure for the user (the server's own `message`, or
      // why there was no answer); a raw status never reaches this point.
      if (mounted.current) {
        setError(reason instanceof Error ? reason.message : String(reason));
      }
      return false;
    } finally {
      if (mounted.current) {
        setBusy(false);
      }
    }
  }, []);

  return { busy, error, run, refuse: setError };
}

/** The form's failure, announced to screen readers as it appears. */
export function VaultFormError(props: { error: string | null; testId: string }): JSX.Element {
  return (
    <p className="wd-vault-error" role="alert" data-testid={props.testId} hidden={!props.error}>
      {props.error}
    </p>
  );
}
