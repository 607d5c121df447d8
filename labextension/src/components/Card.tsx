import { refreshIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

export interface ISidebarCardProps {
  /** The card's heading, also its accessible name unless `label` says otherwise. */
  title: string;
  /** The card's own class (besides `jp-WatchdogLab-card`): its style and test hook. */
  className: string;
  testId: string;
  busy: boolean;
  label?: string;
  /** A CSS and test hook for the card's state (`data-state`). */
  state?: string;
  /** Buttons at the right of the heading. */
  actions?: React.ReactNode;
  children?: React.ReactNode;
}

/**
 * One card of the sidebar: a labelled region with a heading and its actions.
 *
 * Every card is built from this, so they share one structure for assistive technology (a region
 * named by its heading, `aria-busy` while it asks the server) and for the stylesheet.
 */
export function SidebarCard(props: ISidebarCardProps): JSX.Element {
  return (
    <section
      className={`jp-WatchdogLab-card ${props.className}`}
      data-testid={props.testId}
      data-state={props.state}
      aria-label={props.label ?? props.title}
      aria-busy={props.busy}
    >
      <header className="jp-WatchdogLab-cardHeader">
        <h3 className="jp-WatchdogLab-cardTitle">{props.title}</h3>
        {props.actions}
      </header>
      {props.children}
    </section>
  );
}

export interface IRefreshButtonProps {
  /** What is refreshed, as the button's title and accessible name. */
  label: string;
  testId: string;
  onClick: () => void;
  disabled?: boolean;
}

/** The icon button that asks a card's server state again. */
export function RefreshButton(props: IRefreshButtonProps): JSX.Element {
  return (
    <button
      type="button"
      className="jp-WatchdogLab-iconButton"
      data-testid={props.testId}
      title={props.label}
      aria-label={props.label}
      disabled={props.disabled}
      onClick={props.onClick}
    >
      <refreshIcon.react tag="span" className="jp-WatchdogLab-iconButtonIcon" />
    </button>
  );
}

/**
 * Call `poll` now and every `interval` milliseconds while `active` (the sidebar is visible), and
 * again whenever `trigger` changes (a vault state, say): lists that change on the server's side
 * are asked for only while someone can see them.
 */
export function usePolling(
  active: boolean,
  interval: number,
  poll: () => void,
  trigger?: unknown
): void {
  React.useEffect(() => {
    if (!active) {
      return;
    }
    poll();
    const timer = window.setInterval(poll, interval);
    return () => window.clearInterval(timer);
  }, [active, interval, poll, trigger]);
}
