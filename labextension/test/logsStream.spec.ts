import { ServerConnection } from '@jupyterlab/services';
import { nullTranslator } from '@jupyterlab/translation';

import { WatchdogApiClient } from '../src/api';
import { BotLogModel } from '../src/logs/model';
import { ILogRecord } from '../src/logs/records';
import { waitFor } from './fakeServer';

const trans = nullTranslator.load('watchdog-lab');
const BASE = 'http://127.0.0.1:8888/';

function event(seq: number, text: string): string {
  const record: ILogRecord = { seq, ts: 1_700_000_000, stream: 'stdout', text };
  return `id: ${seq}\ndata: ${JSON.stringify(record)}\n\n`;
}

/** jsdom lacks `ReadableStream`; the one Node's `Response` bodies are made of serves. */
const NodeReadableStream = new Response('x').body!.constructor as typeof ReadableStream;

/** A body that sends `chunks`, then either ends or stays open until aborted. */
function sse(chunks: string[], keepOpen = false): Response {
  const encoder = new TextEncoder();
  const body = new NodeReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) {
        controller.enqueue(encoder.encode(chunk));
      }
      if (!keepOpen) {
        controller.close();
      }
    }
  });
  return new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } });
}

/**
 * A request that keeps its abort signal beside it: jsdom's `AbortSignal` is not the one Node's
 * `Request` accepts, so the signal travels here and the fake server honours it itself.
 */
class SignalRequest extends Request {
  constructor(input: RequestInfo | URL, init: RequestInit = {}) {
    const { signal, ...rest } = init;
    super(input, rest);
    this.abortSignal = signal ?? null;
  }

  readonly abortSignal: AbortSignal | null;
}

/** A server whose log routes answer from queues; every request's path and query is kept. */
class LogServer {
  history: ILogRecord[] = [];
  streams: Array<() => Response> = [];
  urls: string[] = [];

  api(): WatchdogApiClient {
    const settings = ServerConnection.makeSettings({
      baseUrl: BASE,
      Request: SignalRequest,
      fetch: async (input: RequestInfo | URL) => {
        const request = input as SignalRequest;
        const url = new URL(request.url);
        url.searchParams.forEach((_, key) => {
          if (/^\d+$/.test(key)) {
            url.searchParams.delete(key); // JupyterLab's cache buster
          }
        });
        this.urls.push(`${url.pathname}?${url.searchParams}`.replace(/\?$/, ''));
        if (url.pathname.endsWith('/logs/stream')) {
          const next = this.streams.shift();
          if (!next) {
            return sse([], true);
          }
          const answer = next();
          request.abortSignal?.addEventListener('abort', () => {
            answer.body?.cancel().catch(() => 0);
          });
          return answer;
        }
        return new Response(JSON.stringify({ records: this.history, next_after: 0 }), {
          status: 200
        });
      }
    });
    return new WatchdogApiClient({ serverSettings: settings });
  }

  streamQueries(): string[] {
    return this.urls.filter(u => u.includes('/logs/stream')).map(u => u.split('?')[1]);
  }
}

function shown(model: BotLogModel): string[] {
  return Array.from({ length: model.visibleCount }, (_, i) => model.visibleLine(i).text);
}

const FAST = { retryDelay: 5, maxRetryDelay: 20, idleTimeout: 200 };

describe('bot log stream', () => {
  let model: BotLogModel | null = null;
  afterEach(() => model?.dispose());

  it('starts from the history and streams after its last record', async () => {
    const server = new LogServer();
    server.history = [1, 2].map(seq => ({ seq, ts: 0, stream: 'stdout', text: `h${seq}` }));
    server.streams.push(() => sse([event(3, 's3')], true));
    model = new BotLogModel({ api: server.api(), bot: 'b', trans, capacity: 100 });
    await model.connect();
    await waitFor(() => model!.visibleCount === 3);
    expect(shown(model)).toEqual(['h1', 'h2', 's3']);
    expect(server.urls[0]).toBe('/watchdog-lab/bots/b/logs?tail=1000');
    expect(server.streamQueries()).toEqual(['after=2']);
  });

  it('resumes after the last record held when the stream breaks, dropping the overlap', async () => {
    const server = new LogServer();
    server.streams.push(() => sse([event(1, 'one'), event(2, 'two')]));
    // The server restarted and replays from an older point: 2 again, then 3.
    server.streams.push(() => sse([event(2, 'two'), event(3, 'three')], true));
    model = new BotLogModel({
      api: server.api(),
      bot: 'b',
      trans,
      capacity: 100,
      streamOptions: FAST
    });
    await model.connect();
    await waitFor(() => model!.visibleCount === 3);
    expect(shown(model)).toEqual(['one', 'two', 'three']);
    expect(server.streamQueries()).toEqual(['after=0', 'after=2']);
    expect(model.buffer.duplicates).toBe(1);
  });

  it('keeps trying while the server cannot be reached, then resumes where it was', async () => {
    const server = new LogServer();
    server.streams.push(() => sse([event(1, 'one')]));
    server.streams.push(() => {
      throw new TypeError('Failed to fetch');
    });
    server.streams.push(() => new Response('', { status: 502 }));
    server.streams.push(() => sse([event(2, 'two')], true));
    model = new BotLogModel({
      api: server.api(),
      bot: 'b',
      trans,
      capacity: 100,
      streamOptions: FAST
    });
    await model.connect();
    await waitFor(() => model!.visibleCount === 2);
    expect(shown(model)).toEqual(['one', 'two']);
    expect(server.streamQueries()).toEqual(['after=0', 'after=1', 'after=1', 'after=1']);
    expect(model.status.state).toBe('live');
  });

  it('replaces a connection that went silent (no keep-alive) with a new one', async () => {
    const server = new LogServer();
    server.streams.push(() => sse([event(1, 'one')], true)); // open, then nothing at all
    server.streams.push(() => sse([event(2, 'two')], true));
    model = new BotLogModel({
      api: server.api(),
      bot: 'b',
      trans,
      capacity: 100,
      streamOptions: FAST
    });
    await model.connect();
    await waitFor(() => model!.visibleCount === 2, 3000);
    expect(server.streamQueries()).toEqual(['after=0', 'after=1']);
  });

  it('stops for good with the reason when the bot is gone', async () => {
    const server = new LogServer();
    server.streams.push(
      () =>
        new Response(JSON.stringify({ message: 'No bot named "b".', reason: 'bot_not_found' }), {
          status: 404
        })
    );
    model = new BotLogModel({
      api: server.api(),
      bot: 'b',
      trans,
      capacity: 100,
      streamOptions: FAST
    });
    await model.connect();
    await waitFor(() => model!.status.state === 'ended');
    expect(model.status.message).toBe('No bot named "b".');
    await new Promise(resolve => setTimeout(resolve, 50));
    expect(server.streamQueries()).toHaveLength(1);
  });

  it('ends when the server says the bot was deleted', async () => {
    const server = new LogServer();
    server.streams.push(() =>
      sse([event(1, 'one'), 'event: end\ndata: {"reason": "deleted"}\n\n'])
    );
    model = new BotLogModel({
      api: server.api(),
      bot: 'b',
      trans,
      capacity: 100,
      streamOptions: FAST
    });
    await model.connect();
    await waitFor(() => model!.status.state === 'ended');
    expect(shown(model)).toEqual(['one']);
    expect(model.status.message).toBe('This bot was deleted.');
  });

  it('resumes after the last line it holds when shown again after being hidden', async () => {
    const server = new LogServer();
    server.streams.push(() => sse([event(1, 'one'), event(2, 'two')], true));
    server.streams.push(() => sse([event(3, 'three')], true));
    model = new BotLogModel({
      api: server.api(),
      bot: 'b',
      trans,
      capacity: 100,
      streamOptions: FAST
    });
    await model.connect();
    await waitFor(() => model!.visibleCount === 2);
    model.disconnect();
    expect(model.status.state).toBe('stopped');
    await model.connect();
    await waitFor(() => model!.visibleCount === 3);
    // The history is read once, when the view opens; after that only the stream resumes.
    expect(server.urls.filter(url => !url.includes('/stream'))).toHaveLength(1);
    expect(server.streamQueries()).toEqual(['after=0', 'after=2']);
  });

  it('holds back lines while paused and shows them on resume', async () => {
    const server = new LogServer();
    model = new BotLogModel({ api: server.api(), bot: 'b', trans, capacity: 100 });
    model.append([{ seq: 1, ts: 0, stream: 'stdout', text: 'before' }]);
    model.paused = true;
    model.append([{ seq: 2, ts: 0, stream: 'stdout', text: 'during' }]);
    expect(shown(model)).toEqual(['before']);
    expect(model.heldBack).toBe(1);
    model.paused = false;
    expect(shown(model)).toEqual(['before', 'during']);
  });
});
