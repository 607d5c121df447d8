/**
 * One bot's log as a view shows it: the bounded buffer, the live stream feeding it, and the
 * view's own state (paused, following, filtered).
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { ISignal, Signal } from '@lumino/signaling';

import { WatchdogApiClient } from '../api';
import { errorMessage } from '../connections';
import { ILogFilter, LogBuffer } from './buffer';
import { ILogLine, ILogRecord, parseRecord } from './records';
import { IStreamStatus, LogStream } from './stream';

/** Records asked for when a view opens: enough to see what the bot did just before. */
export const HISTORY_RECORDS = 1000;

export namespace BotLogModel {
  export interface IOptions {
    api: WatchdogApiClient;
    bot: string;
    trans: TranslationBundle;
    /** The most lines held (the `logBufferLines` setting). */
    capacity: number;
    /** Passed to the stream (tests shorten its delays). */
    streamOptions?: Partial<
      Pick<LogStream.IOptions, 'retryDelay' | 'maxRetryDelay' | 'idleTimeout'>
    >;
  }

  /** What one arrival added, for whoever measures the path from a print to the screen. */
  export interface IAppended {
    records: readonly ILogRecord[];
    lines: number;
  }
}

export class BotLogModel {
  constructor(options: BotLogModel.IOptions) {
    this.bot = options.bot;
    this._api = options.api;
    this.buffer = new LogBuffer(options.capacity);
    this._stream = new LogStream({
      api: options.api,
      bot: options.bot,
      trans: options.trans,
      tail: HISTORY_RECORDS,
      lastSeq: () => (this.buffer.lastSeq > 0 || this._historyRead ? this.buffer.lastSeq : null),
      onRecords: records => this.append(records),
      onStatus: status => {
        this._status = status;
        this._changed.emit();
      },
      ...options.streamOptions
    });
  }

  readonly bot: string;
  readonly buffer: LogBuffer;

  /** Lines arrived, or the state, filter, pause or stream status changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Emitted once per arrival, right after the lines entered the buffer. */
  get appended(): ISignal<this, BotLogModel.IAppended> {
    return this._appended;
  }

  get status(): IStreamStatus {
    return this._status;
  }

  /** The history's failure, in the server's words, or `null`. */
  get historyError(): string | null {
    return this._historyError;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Paused: the view keeps showing what it showed; lines still arrive and are counted. */
  get paused(): boolean {
    return this._pausedAt !== null;
  }

  set paused(value: boolean) {
    if (value === this.paused) {
      return;
    }
    this._pausedAt = value ? this.buffer.end : null;
    this._changed.emit();
  }

  /** Following: the view keeps its last line in sight as lines arrive. */
  get follow(): boolean {
    return this._follow;
  }

  set follow(value: boolean) {
    if (value !== this._follow) {
      this._follow = value;
      this._changed.emit();
    }
  }

  get filter(): Readonly<ILogFilter> {
    return this.buffer.filter;
  }

  set filter(value: Readonly<ILogFilter>) {
    this.buffer.filter = value;
    this._changed.emit();
  }

  set capacity(value: number) {
    this.buffer.capacity = value;
    this._changed.emit();
  }

  /** Lines the view shows: those passing the filter, up to the pause point if paused. */
  get visibleCount(): number {
    return this.buffer.matchCount(this._pausedAt ?? this.buffer.end);
  }

  visibleLine(i: number): ILogLine {
    return this.buffer.match(i);
  }

  /** Matching lines that arrived since the pause, shown when the view resumes. */
  get heldBack(): number {
    return this._pausedAt === null ? 0 : this.buffer.matchCount() - this.visibleCount;
  }

  /** Take records (from the stream, the history, or a test): duplicates are dropped. */
  append(records: readonly ILogRecord[]): void {
    const lines = this.buffer.append(records);
    if (lines > 0) {
      this._appended.emit({ records, lines });
      this._changed.emit();
    }
  }

  /** Read the recent history once, then stream from its last record on. */
  async connect(): Promise<void> {
    if (this._disposed) {
      return;
    }
    this._wanted = true;
    if (!this._historyRead && this.buffer.lastSeq === 0) {
      try {
        const body = await this._api.request<unknown>(
          `bots/${encodeURIComponent(this.bot)}/logs?tail=${HISTORY_RECORDS}`,
          { method: 'GET' }
        );
        this.append(recordsOf(body));
        this._historyRead = true;
        this._historyError = null;
      } catch (error) {
        // The stream starts with the last records by itself; the reason is still shown.
        this._historyError = errorMessage(error);
      }
    }
    // Hidden (or closed) while the history was on its way: no stream then.
    if (this._wanted && !this._disposed) {
      this._stream.start();
    }
  }

  /** Close the stream (a hidden view holds no connection); `connect` resumes without a gap. */
  disconnect(): void {
    this._wanted = false;
    this._stream.stop();
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._stream.stop();
    Signal.clearData(this);
  }

  private _api: WatchdogApiClient;
  private _stream: LogStream;
  private _status: IStreamStatus = { state: 'stopped', message: null };
  private _changed = new Signal<this, void>(this);
  private _appended = new Signal<this, BotLogModel.IAppended>(this);
  private _pausedAt: number | null = null;
  private _follow = true;
  private _historyRead = false;
  private _historyError: string | null = null;
  private _disposed = false;
  private _wanted = false;
}

function recordsOf(body: unknown): ILogRecord[] {
  const records =
    typeof body === 'object' && body !== null ? (body as { records?: unknown }).records : null;
  if (!Array.isArray(records)) {
    return [];
  }
  return records.map(parseRecord).filter((r): r is ILogRecord => r !== null);
}
