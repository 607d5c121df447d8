import { Time } from '@jupyterlab/coreutils';
import * as React from 'react';

/**
 * A moment as the card shows it: relative ("3 hours ago"), which is what one compares
 * snapshots by, with the absolute local time on hover and in the machine-readable attribute.
 */
export function BackupTime(props: { date: Date; testId: string }): JSX.Element {
  const { date, testId } = props;
  return (
    <time
      className="wd-backup-time"
      data-testid={testId}
      dateTime={date.toISOString()}
      title={date.toLocaleString()}
    >
      {Time.formatHuman(date)}
    </time>
  );
}
