/**
 * The rows of a log, virtualised: only the rows in sight (and a few around them) are in the
 * document, each at a fixed height, so a view holding a hundred thousand lines costs what one
 * screenful costs to lay out and paint.
 */
import * as React from 'react';

import { BotLogModel } from './model';
import { ILogLine } from './records';

/** Pixels per row; the CSS gives rows this height and one line each (no wrapping). */
export const ROW_HEIGHT = 18;
/** Rows rendered beyond each edge of the viewport, so a fast scroll shows no blank band. */
const OVERSCAN = 20;
/** Rows assumed visible before the viewport has been measured. */
const INITIAL_ROWS = 50;

export interface ILogListProps {
  model: BotLogModel;
  /** Changes whenever the model did; the list reads the model afresh then. */
  version: number;
  label: string;
}

/** Which rows to render for a viewport: `[first, last)`. */
export function rowWindow(
  count: number,
  scrollTop: number,
  height: number,
  rowHeight: number = ROW_HEIGHT,
  overscan: number = OVERSCAN
): [number, number] {
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(count, Math.ceil((scrollTop + height) / rowHeight) + overscan);
  return [first, Math.max(first, last)];
}

export function LogList(props: ILogListProps): JSX.Element {
  const { model, version, label } = props;
  const scroller = React.useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = React.useState(0);
  const [height, setHeight] = React.useState(INITIAL_ROWS * ROW_HEIGHT);
  const lastTop = React.useRef(0);

  const count = model.visibleCount;
  const total = count * ROW_HEIGHT;
  // While following, render the rows at the end straight away instead of a frame later.
  const top = model.follow ? Math.max(0, total - height) : scrollTop;
  const [first, last] = rowWindow(count, top, height);

  React.useLayoutEffect(() => {
    const node = scroller.current;
    if (node && model.follow) {
      node.scrollTop = node.scrollHeight;
      lastTop.current = node.scrollTop;
    }
  }, [version, count, model.follow]);

  React.useEffect(() => {
    const node = scroller.current;
    if (!node || typeof ResizeObserver === 'undefined') {
      return;
    }
    const observer = new ResizeObserver(() => setHeight(node.clientHeight));
    observer.observe(node);
    setHeight(node.clientHeight || INITIAL_ROWS * ROW_HEIGHT);
    return () => observer.disconnect();
  }, []);

  const onScroll = (): void => {
    const node = scroller.current;
    if (!node) {
      return;
    }
    const atEnd = node.scrollTop + node.clientHeight >= node.scrollHeight - ROW_HEIGHT;
    if (model.follow && !atEnd && node.scrollTop < lastTop.current) {
      model.follow = false; // the user scrolled up to read: stop pulling the view down
    } else if (!model.follow && atEnd && !model.paused) {
      model.follow = true; // back at the end: follow again, as a terminal does
    }
    lastTop.current = node.scrollTop;
    setScrollTop(node.scrollTop);
  };

  const onKeyDown = (event: React.KeyboardEvent): void => {
    // Arrows and Page Up/Down scroll natively. Home and End jump at once (a smooth native
    // scroll would still be moving when the next line arrives): End follows again, Home stops.
    const node = scroller.current;
    if (event.key === 'End') {
      event.preventDefault();
      model.follow = true;
    } else if (event.key === 'Home' && node) {
      event.preventDefault();
      model.follow = false;
      node.scrollTop = 0;
      lastTop.current = 0;
    }
  };

  const rows: JSX.Element[] = [];
  for (let i = first; i < last; i++) {
    rows.push(<LogRow key={i} line={model.visibleLine(i)} index={i} />);
  }
  return (
    <div
      ref={scroller}
      className="wd-logs-scroller"
      data-testid="wd-logs-scroller"
      role="log"
      aria-live="off"
      aria-label={label}
      tabIndex={0}
      onScroll={onScroll}
      onKeyDown={onKeyDown}
    >
      <div className="wd-logs-spacer" style={{ height: total }}>
        {rows}
      </div>
    </div>
  );
}

function Row(props: { line: ILogLine; index: number }): JSX.Element {
  const { line, index } = props;
  return (
    <div
      className={`wd-logs-row wd-logs-level-${line.level}`}
      data-testid="wd-logs-row"
      data-seq={line.seq}
      style={{ top: index * ROW_HEIGHT, height: ROW_HEIGHT }}
    >
      <span className="wd-logs-time">{clock(line.ts)}</span>
      <span className={`wd-logs-stream wd-logs-stream-${line.stream}`}>{line.stream}</span>
      <span className="wd-logs-text">{line.text}</span>
    </div>
  );
}

/** A row re-renders only when its line or place changes. */
const LogRow = React.memo(Row);

const MS_PER_SECOND = 1000;

/** `HH:MM:SS.mmm` local time: the same width on every row, whatever the locale. */
export function clock(epochSeconds: number): string {
  const at = new Date(epochSeconds * MS_PER_SECOND);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(at.getHours())}:${two(at.getMinutes())}:${two(at.getSeconds())}.${String(
    at.getMilliseconds()
  ).padStart(3, '0')}`;
}
