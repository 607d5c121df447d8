/**
 * A stand-in for the Jupyter server at the transport level only.
 *
 * The client under test is the real one: it builds its requests through
 * `ServerConnection.makeRequest` with settings whose `fetch` is this server's, so URL building,
 * headers and response handling all run as in the browser.
 */
import { ServerConnection } from '@jupyterlab/services';
import { ITranslator } from '@jupyterlab/translation';

import { WatchdogApiClient, WatchdogApiError } from '../src/api';

export type Answer = Response | 'network-error';

export interface IRecordedRequest {
  method: string;
  /** Without the query: JupyterLab appends a cache-busting one to every GET. */
  url: string;
}

/** A request in full: its path (no origin, no query), decoded JSON body and content type. */
export interface ISentRequest {
  method: string;
  path: string;
  body: unknown;
  contentType: string | null;
}

export class FakeServer {
  /**
   * What the server answers on each path below the namespace, e.g. `vault`, or on one method
   * and path, e.g. `POST vault/unlock` (which wins over the bare path).
   */
  routes = new Map<string, () => Answer>();
  /** What the server answers where no route matches: 404 unless told otherwise. */
  fallback: () => Answer = () => new Response('', { status: 404 });
  requests: IRecordedRequest[] = [];
  sent: ISentRequest[] = [];

  constructor(readonly baseUrl = 'http://127.0.0.1:8888/') {}

  /** A server that answers every request with one canned reply (`null` body: none). */
  static answering(status: number, body: unknown, baseUrl?: string): FakeServer {
    const server = new FakeServer(baseUrl);
    server.fallback = () => (body === null ? new Response(null, { status }) : json(body, status));
    return server;
  }

  /** The real API client, talking to this server. */
  client(translator?: ITranslator): WatchdogApiClient {
    return new WatchdogApiClient({ serverSettings: this.settings(), translator });
  }

  /** The requests sent so far, each as `METHOD path`. */
  calls(): string[] {
    return this.sent.map(sent => `${sent.method} ${sent.path}`);
  }

  /** The requests sent so far, each with only the given fields. */
  sentWith<K extends keyof ISentRequest>(...fields: K[]): Pick<ISentRequest, K>[] {
    return this.sent.map(sent => {
      const picked = {} as Pick<ISentRequest, K>;
      for (const field of fields) {
        picked[field] = sent[field];
      }
      return picked;
    });
  }

  /** JupyterLab's connection settings, talking to this server. */
  settings(): ServerConnection.ISettings {
    return ServerConnection.makeSettings({
      baseUrl: this.baseUrl,
      fetch: (input: RequestInfo | URL, init?: RequestInit) => this._fetch(input, init)
    });
  }

  /** Requests whose path ends with `path` (e.g. `/watchdog-lab/vault`). */
  requestsTo(path: string): IRecordedRequest[] {
    return this.requests.filter(request => request.url.endsWith(path));
  }

  private async _fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const request = new Request(input, init);
    const { origin, pathname: path } = new URL(request.url);
    this.requests.push({ method: request.method, url: origin + path });
    const text = await request.text();
    this.sent.push({
      method: request.method,
      path,
      body: text ? JSON.parse(text) : null,
      contentType: request.headers.get('Content-Type')
    });
    const prefix = new URL(this.baseUrl).pathname + 'watchdog-lab/';
    const below = path.startsWith(prefix) ? path.slice(prefix.length) : undefined;
    const route =
      below === undefined
        ? undefined
        : (this.routes.get(`${request.method} ${below}`) ?? this.routes.get(below));
    const answer = route ? route() : this.fallback();
    if (answer === 'network-error') {
      throw new TypeError('Failed to fetch');
    }
    return answer;
  }
}

export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' }
  });
}

/** Resolves once `condition` holds, checking every few milliseconds; fails after `timeout`. */
export async function waitFor(condition: () => boolean, timeout = 2000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`condition not met within ${timeout} ms`);
    }
    await sleep(5);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms));
}

/** The `WatchdogApiError` that `promise` rejects with; fails the test if it resolves. */
export async function failure(promise: Promise<unknown>): Promise<WatchdogApiError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(WatchdogApiError);
    return error as WatchdogApiError;
  }
  throw new Error('the call succeeded');
}
