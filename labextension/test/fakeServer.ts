/**
 * A stand-in for the Jupyter server at the transport level only.
 *
 * The client under test is the real one: it builds its requests through
 * `ServerConnection.makeRequest` with settings whose `fetch` is this server's, so URL building,
 * headers and response handling all run as in the browser.
 */
import { ServerConnection } from '@jupyterlab/services';

export type Answer = Response | 'network-error';

export interface IRecordedRequest {
  method: string;
  /** Without the query: JupyterLab appends a cache-busting one to every GET. */
  url: string;
}

export class FakeServer {
  /** What the server answers on each path below the namespace, e.g. `vault`. */
  routes = new Map<string, () => Answer>();
  requests: IRecordedRequest[] = [];

  constructor(readonly baseUrl = 'http://127.0.0.1:8888/') {}

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
    const prefix = new URL(this.baseUrl).pathname + 'watchdog-lab/';
    const route = path.startsWith(prefix) ? this.routes.get(path.slice(prefix.length)) : undefined;
    const answer = route ? route() : new Response('', { status: 404 });
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
