import { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

import { SandboxStatus } from '../model';
import { SidebarCard } from './Card';

/**
 * The sandbox card of the sidebar: which confinement notebook kernels and bots get here.
 *
 * Every kernel is untrusted: a row that does not confine is shown in the warning colour so the
 * user sees it without running `watchdog-lab doctor`. Server text is rendered as text only.
 */
export function SandboxView(props: {
  sandbox: SandboxStatus;
  trans: TranslationBundle;
}): JSX.Element {
  const { sandbox, trans } = props;
  return (
    <SidebarCard
      title={trans.__('Sandbox')}
      className="jp-WatchdogLab-sandbox"
      testId="watchdog-sandbox"
      state={sandbox.kind}
      busy={sandbox.kind === 'loading'}
    >
      {sandbox.kind === 'error' ? (
        <p className="jp-WatchdogLab-hint" data-testid="watchdog-sandbox-error">
          {sandbox.message}
        </p>
      ) : (
        <ul className="jp-WatchdogLab-levels">
          <LevelRow
            testId="watchdog-sandbox-kernels"
            label={trans.__('Notebook kernels')}
            level={sandbox.kind === 'ready' ? sandbox.kernels : null}
            confined={sandbox.kind === 'ready' ? sandbox.kernelsConfined : null}
            trans={trans}
          />
          <LevelRow
            testId="watchdog-sandbox-bots"
            label={trans.__('Bots')}
            level={sandbox.kind === 'ready' ? sandbox.bots : null}
            confined={sandbox.kind === 'ready' ? sandbox.botsConfined : null}
            trans={trans}
          />
        </ul>
      )}
    </SidebarCard>
  );
}

/** One level; `null` while it is being asked for. */
function LevelRow(props: {
  testId: string;
  label: string;
  level: string | null;
  confined: boolean | null;
  trans: TranslationBundle;
}): JSX.Element {
  const { testId, label, level, confined, trans } = props;
  const mod =
    confined === null ? 'jp-mod-loading' : confined ? 'jp-mod-confined' : 'jp-mod-unconfined';
  return (
    <li
      className={`jp-WatchdogLab-level ${mod}`}
      data-testid={testId}
      data-confined={confined === null ? undefined : String(confined)}
      title={
        confined === false
          ? trans.__(
              '%1: not confined: their code can read the Jupyter token and the WatchDog Lab home.',
              label
            )
          : undefined
      }
    >
      <span className="jp-WatchdogLab-dot" aria-hidden="true" />
      <span className="jp-WatchdogLab-levelLabel">{trans.__('%1:', label)}</span>{' '}
      <span className="jp-WatchdogLab-levelValue">{level ?? trans.__('checking…')}</span>
    </li>
  );
}
