/**
 * A bot's live log over `GET bots/{ref}/logs/stream` (server-sent events), resumed without gaps.
 *
 * Every event's id is the record's sequence number, which the runner keeps counting across
 * restarts of the bot and which the server's stream accepts as its start point (`?after=`).
 * Whenever the stream breaks (the server restarts, the network drops, a proxy closes an idle
 * connection) this reconnects after a growing delay and asks for what follows the last
 * sequence number the view holds; the view drops any record it already has, so an overlap can
 * never show a line twice.
 */
import { ServerConnection } from '@jupyterlab/services';
import { TranslationBundle } from '@jupyterlab/translation';

import { WatchdogApiClient } from '../api';
import { ILogRecord, parseRecord } from './records';
import { SseParser } from './sse';

/** `connecting` before the first answer, `live` while events flow, `retrying` after a break,
 * `ended` when the bot is gone (no retry), `stopped` when this side closed it. */
export type StreamState = 'connecting' | 'live' | 'retrying' | 'ended' | 'stopped';

export interface IStreamStatus {
  state: StreamState;
  /** Why it is retrying or ended, in words for the user; `null` while all is well. */
  message: string | null;
}

export namespace LogStream {
  export interface IOptions {
    api: WatchdogApiClient;
    /** The bot's name (or id), as the routes take it. */
    bot: string;
    trans: TranslationBundle;
    /** The sequence number to resume after, asked at every (re)connect; `null` when nothing
     * is held yet (the server then sends the last `tail` records). */
    lastSeq: () => number | null;
    /** How many records to start with when `lastSeq` is `null`. */
    tail: number;
    /** Records as they arrive, in order, a batch per chunk read. */
    onRecords: (records: ILogRecord[]) => void;
    onStatus: (status: IStreamStatus) => void;
    /** First wait before reconnecting, doubled per failure up to `maxRetryDelay` (ms). */
    retryDelay?: number;
    maxRetryDelay?: number;
    /** With nothing received for this long (not even a keep-alive), the connection is taken
     * for dead and replaced (ms). */
    idleTimeout?: number;
  }
}

/** The server sends a keep-alive every 15 s; two missed ones mean the connection is gone. */
export const DEFAULT_IDLE_TIMEOUT = 35_000;
export const DEFAULT_RETRY_DELAY = 1_000;
export const DEFAULT_MAX_RETRY_DELAY = 30_000;

export class LogStream {
  constructor(options: LogStream.IOptions) {
    this._options = options;
  }

  get status(): IStreamStatus {
    return this._status;
  }

  /** Connect (or reconnect at once after a stop); a running stream is left alone. */
  start(): void {
    if (this._running) {
      return;
    }
    this._running = true;
    this._generation += 1;
    void this._loop(this._generation);
  }

  /** Close the connection; `start` resumes after the last sequence number then held. */
  stop(): void {
    this._running = false;
    this._controller?.abort();
    this._kill?.();
    this._wake?.();
    this._setStatus({ state: 'stopped', message: null });
  }

  /** Whether the loop of `generation` should go on: a stop, or a later start, ends it. */
  private _current(generation: number): boolean {
    return this._running && generation === this._generation;
  }

  private async _loop(generation: number): Promise<void> {
    const { retryDelay = DEFAULT_RETRY_DELAY, maxRetryDelay = DEFAULT_MAX_RETRY_DELAY } =
      this._options;
    let failures = 0;
    this._setStatus({ state: 'connecting', message: null });
    while (this._current(generation)) {
      const outcome = await this._connectOnce(generation);
      if (!this._current(generation)) {
        return;
      }
      if (outcome.kind === 'ended') {
        this._running = false;
        this._setStatus({ state: 'ended', message: outcome.message });
        return;
      }
      failures = outcome.kind === 'received' ? 1 : failures + 1;
      const delay = Math.min(maxRetryDelay, retryDelay * 2 ** (failures - 1));
      this._setStatus({ state: 'retrying', message: outcome.message });
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, delay);
        this._wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this._wake = null;
    }
  }

  /** One connection, read until it breaks. */
  private async _connectOnce(
    generation: number
  ): Promise<
    { kind: 'received' | 'failed'; message: string | null } | { kind: 'ended'; message: string }
  > {
    const { api, bot, trans } = this._options;
    const controller = new AbortController();
    this._controller = controller;
    const after = this._options.lastSeq();
    const query = after === null ? `tail=${this._options.tail}` : `after=${after}`;
    const url = api.url(`bots/${encodeURIComponent(bot)}/logs/stream?${query}`);
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(
        url,
        { method: 'GET', signal: controller.signal, headers: { Accept: 'text/event-stream' } },
        api.serverSettings
      );
    } catch {
      return {
        kind: 'failed',
        message: trans.__('The Jupyter server cannot be reached; trying again…')
      };
    }
    if (!response.ok) {
      const { message, reason } = await errorOf(response);
      if (response.status === 404 && reason !== null) {
        return { kind: 'ended', message: message ?? trans.__('This bot no longer exists.') };
      }
      return {
        kind: 'failed',
        message: message ?? trans.__('The server refused the log stream; trying again…')
      };
    }
    let received = false;
    const parser = new SseParser();
    const decoder = new TextDecoder();
    const idleTimeout = this._options.idleTimeout ?? DEFAULT_IDLE_TIMEOUT;
    const reader = response.body?.getReader();
    if (!reader) {
      return { kind: 'failed', message: null };
    }
    // Aborting the request should end the read; cancelling the reader makes sure it does.
    const kill = (): void => {
      controller.abort();
      void reader.cancel().catch(() => undefined);
    };
    this._kill = kill;
    let idle = setTimeout(kill, idleTimeout);
    try {
      if (this._current(generation)) {
        this._setStatus({ state: 'live', message: null });
      }
      for (;;) {
        const { done, value } = await reader.read();
        if (done) {
          break;
        }
        clearTimeout(idle);
        idle = setTimeout(kill, idleTimeout);
        const records: ILogRecord[] = [];
        for (const event of parser.feed(decoder.decode(value, { stream: true }))) {
          if (event.event === 'end') {
            await reader.cancel().catch(() => undefined);
            this._deliver(records, generation);
            return { kind: 'ended', message: trans.__('This bot was deleted.') };
          }
          const record = event.event === 'message' ? parseData(event.data) : null;
          if (record !== null) {
            records.push(record);
          }
        }
        received = received || records.length > 0;
        this._deliver(records, generation);
      }
    } catch {
      // Aborted (a stop, or the idle timer) or the connection broke: retried below.
    } finally {
      clearTimeout(idle);
      this._kill = null;
    }
    return {
      kind: received ? 'received' : 'failed',
      message: trans.__('The log stream was interrupted; resuming…')
    };
  }

  private _deliver(records: ILogRecord[], generation: number): void {
    if (records.length > 0 && this._current(generation)) {
      this._options.onRecords(records);
    }
  }

  private _setStatus(status: IStreamStatus): void {
    if (status.state === this._status.state && status.message === this._status.message) {
      return;
    }
    this._status = status;
    this._options.onStatus(status);
  }

  private _options: LogStream.IOptions;
  private _running = false;
  private _generation = 0;
  private _controller: AbortController | null = null;
  private _wake: (() => void) | null = null;
  private _kill: (() => void) | null = null;
  private _status: IStreamStatus = { state: 'stopped', message: null };
}

function parseData(data: string): ILogRecord | null {
  try {
    return parseRecord(JSON.parse(data));
  } catch {
    return null;
  }
}

async function errorOf(
  response: Response
): Promise<{ message: string | null; reason: string | null }> {
  try {
    const body = (await response.json()) as { message?: unknown; reason?: unknown };
    return {
      message: typeof body.message === 'string' && body.message ? body.message : null,
      reason: typeof body.reason === 'string' ? body.reason : null
    };
  } catch {
    return { message: null, reason: null };
  }
}
