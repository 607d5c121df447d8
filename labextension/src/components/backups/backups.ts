/**
 * The vault's backups as the server describes them, read from the wire, and the words the
 * Backups card uses for them.
 *
 * Parsing lives here, away from React, so that an answer this version cannot read is refused in
 * one place (the client then says to reload) instead of half-rendering in the card.
 */
import { TranslationBundle } from '@jupyterlab/translation';

/** Why a snapshot was taken; a reason this version does not know is kept as the server said. */
export type BackupReason = 'manual' | 'automatic' | 'daily' | 'pre-restore';

/** One snapshot: an encrypted copy of the vault the server keeps for the retention period. */
export interface IBackupEntry {
  id: string;
  /** When the snapshot was taken (from the server's ISO-8601 UTC time). */
  createdAt: Date;
  sizeBytes: number;
  reason: BackupReason | string;
}

/** The snapshots, newest first, and how the server keeps them. */
export interface IBackupListing {
  backups: IBackupEntry[];
  retentionDays: number;
  /** Whether the server takes backups on its own. */
  automatic: boolean;
  lastAutomaticAt: Date | null;
  /** Why the last automatic backup failed, in the server's words; `null` when it did not. */
  lastError: string | null;
}

/** What checking a snapshot found: `ok`, or each problem in the server's words. */
export interface IBackupVerification {
  id: string;
  ok: boolean;
  problems: string[];
  checkedFiles: number;
}

/** What a restore brought back, and the snapshot of the state it replaced. */
export interface IRestoreResult {
  id: string;
  restoredFrom: string;
  /** The snapshot taken just before the restore: restoring it undoes this one. */
  safetyBackup: string;
  connections: number;
  bots: number;
}

/** A listed snapshot from the wire, or `null` when this version cannot read it. */
export function parseBackupEntry(value: unknown): IBackupEntry | null {
  if (!isObject(value)) {
    return null;
  }
  const { id, created_at, size_bytes, reason } = value;
  if (
    typeof id !== 'string' ||
    !id ||
    typeof size_bytes !== 'number' ||
    !Number.isFinite(size_bytes) ||
    size_bytes < 0 ||
    typeof reason !== 'string'
  ) {
    return null;
  }
  const createdAt = parseTime(created_at);
  if (createdAt === null) {
    return null;
  }
  return { id, createdAt, sizeBytes: size_bytes, reason };
}

/** The answer of `GET backups`, or `null` when this version cannot read it. */
export function parseBackupListing(value: unknown): IBackupListing | null {
  if (!isObject(value)) {
    return null;
  }
  const { backups, retention_days, automatic, last_automatic_at, last_error } = value;
  if (!Array.isArray(backups) || typeof retention_days !== 'number' || !isBoolean(automatic)) {
    return null;
  }
  const entries: IBackupEntry[] = [];
  for (const item of backups) {
    const entry = parseBackupEntry(item);
    if (entry === null) {
      return null;
    }
    entries.push(entry);
  }
  const lastAutomaticAt = last_automatic_at === null ? null : parseTime(last_automatic_at);
  if (last_automatic_at !== null && lastAutomaticAt === null) {
    return null;
  }
  if (!(last_error === null || typeof last_error === 'string')) {
    return null;
  }
  return {
    // Newest first whatever order the answer came in: the card's first row is the latest.
    backups: entries.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime()),
    retentionDays: retention_days,
    automatic,
    lastAutomaticAt,
    lastError: last_error || null
  };
}

/** The answer of a verify, or `null` when this version cannot read it. */
export function parseVerification(value: unknown): IBackupVerification | null {
  if (!isObject(value)) {
    return null;
  }
  const { id, ok, problems, checked_files } = value;
  if (
    typeof id !== 'string' ||
    !isBoolean(ok) ||
    !Array.isArray(problems) ||
    !problems.every(problem => typeof problem === 'string') ||
    typeof checked_files !== 'number'
  ) {
    return null;
  }
  return { id, ok, problems: problems as string[], checkedFiles: checked_files };
}

/** The answer of a restore, or `null` when this version cannot read it. */
export function parseRestore(value: unknown): IRestoreResult | null {
  if (!isObject(value)) {
    return null;
  }
  const { id, restored_from, safety_backup, connections, bots } = value;
  if (
    typeof id !== 'string' ||
    typeof restored_from !== 'string' ||
    typeof safety_backup !== 'string' ||
    typeof connections !== 'number' ||
    typeof bots !== 'number'
  ) {
    return null;
  }
  return { id, restoredFrom: restored_from, safetyBackup: safety_backup, connections, bots };
}

const BYTES_PER_UNIT = 1024;
const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/** A size in binary units, one decimal above bytes: `812 B`, `1.5 KiB`, `40.2 MiB`. */
export function formatSize(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= BYTES_PER_UNIT && unit < UNITS.length - 1) {
    value /= BYTES_PER_UNIT;
    unit += 1;
  }
  const digits = unit === 0 ? 0 : 1;
  const number = new Intl.NumberFormat(undefined, { maximumFractionDigits: digits }).format(value);
  return `${number} ${UNITS[unit]}`;
}

/** Why a snapshot was taken, in the user's words. */
export function reasonLabel(reason: string, trans: TranslationBundle): string {
  switch (reason) {
    case 'manual':
      return trans.__('Manual');
    case 'automatic':
      return trans.__('Automatic');
    case 'daily':
      return trans.__('Daily');
    case 'pre-restore':
      return trans.__('Before a restore');
    default:
      return reason;
  }
}

/** The moment an ISO-8601 string names, or `null` if it names none. */
function parseTime(value: unknown): Date | null {
  if (typeof value !== 'string' || !value) {
    return null;
  }
  const time = Date.parse(value);
  return Number.isNaN(time) ? null : new Date(time);
}

function isBoolean(value: unknown): value is boolean {
  return typeof value === 'boolean';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
