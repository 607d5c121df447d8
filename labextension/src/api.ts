/**
 * The one place the front end talks to the WatchDog Lab server extension.
 *
 * Every request goes through `ServerConnection.makeRequest` so that the base URL, the token and
 * the XSRF cookie are handled the way the rest of JupyterLab handles them; components never build
 * URLs or parse responses themselves.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { ITranslator, TranslationBundle } from '@jupyterlab/translation';

import { loadTranslation } from './translation';

/** URL segment under the server's base URL that all WatchDog Lab routes live in. */
export const API_NAMESPACE = 'watchdog-lab';

/** The vault states the server reports, in the order a user meets them. */
export const VAULT_STATES = ['absent', 'locked', 'unlocked'] as const;

export type VaultState = (typeof VAULT_STATES)[number];

export interface IVaultStatus {
  state: VaultState;
}

/** The sandbox levels of this server, worded as `watchdog-lab doctor` words them. */
export interface ISandboxLevels {
  /** What interactive (notebook) kernels get: `landlock (...)`, `unconfined: ...`, `off (...)`. */
  kernels: string;
  kernelsConfined: boolean;
  /** What bots get: `landlock (...)`, `bubblewrap`, `unsandboxed`, `refused: ...`. */
  bots: string;
  botsConfined: boolean;
}

/**
 * A failed call to the server extension, with a message a user can act on.
 *
 * `status` is the HTTP status, or `null` when no HTTP answer came back at all (server down,
 * network error), which the UI shows differently from a refusal.
 */
export class WatchdogApiError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
    /** The extension's stable error code (`connection_not_found`, `vault_locked`, ...). */
    readonly reason: string | null = null
  ) {
    super(message);
    this.name = 'WatchdogApiError';
  }

  /** True when the server extension itself is missing or unreachable, not just unhappy. */
  get unreachable(): boolean {
    return this.status === null || (this.status === 404 && this.reason === null);
  }
}

export namespace WatchdogApiClient {
  export interface IOptions {
    /** The Jupyter server to talk to; JupyterLab's own connection settings by default. */
    serverSettings?: ServerConnection.ISettings;
    /** Translates the messages this client writes itself (not the server's own messages). */
    translator?: ITranslator | null;
  }
}

/**
 * A client for the WatchDog Lab REST routes.
 *
 * One instance is shared by every plugin (through the `IWatchdogLab` token), so that all of them
 * reach the same server with the same settings and word their failures the same way.
 */
export class WatchdogApiClient {
  constructor(options: WatchdogApiClient.IOptions = {}) {
    this.serverSettings = options.serverSettings ?? ServerConnection.makeSettings();
    this._trans = loadTranslation(options.translator);
  }

  readonly serverSettings: ServerConnection.ISettings;

  /** The full URL of a route, below `{baseUrl}watchdog-lab/`. */
  url(endPoint: string): string {
    return URLExt.join(this.serverSettings.baseUrl, API_NAMESPACE, endPoint);
  }

  /**
   * Call a WatchDog Lab route and return its decoded JSON body.
   *
   * @param endPoint - path below `{baseUrl}watchdog-lab/`
   * @throws {WatchdogApiError} on network failure or a non-2xx answer
   */
  async request<T>(endPoint: string, init: RequestInit = {}): Promise<T> {
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(this.url(endPoint), init, this.serverSettings);
    } catch {
      throw new WatchdogApiError(
        this._trans.__(
          'The Jupyter server cannot be reached. Check that JupyterLab is still running.'
        ),
        null
      );
    }

    const body = await readJson(response);
    if (!response.ok) {
      throw new WatchdogApiError(
        this._errorMessage(response, body),
        response.status,
        reasonOf(body)
      );
    }
    return body as T;
  }

  /** Ask the server which state the vault is in. */
  async vaultStatus(): Promise<IVaultStatus> {
    const body = await this.request<unknown>('vault', { method: 'GET' });
    if (!isVaultStatus(body)) {
      throw this._unknownAnswer(
        this._trans.__(
          'The server answered with a vault state this version of WatchDog Lab does not know. Reload the page after upgrading.'
        )
      );
    }
    return { state: body.state };
  }

  /** Ask the server which sandbox its notebook kernels and its bots get. */
  async sandboxLevels(): Promise<ISandboxLevels> {
    const body = await this.request<unknown>('sandbox', { method: 'GET' });
    if (!isSandboxBody(body)) {
      throw this._unknownAnswer(
        this._trans.__(
          'The server answered with sandbox levels this version of WatchDog Lab does not know. Reload the page after upgrading.'
        )
      );
    }
    return {
      kernels: body.kernels,
      kernelsConfined: body.kernels_confined,
      bots: body.bots,
      botsConfined: body.bots_confined
    };
  }

  /** A 200 whose body this version cannot read: the page is older than the server. */
  private _unknownAnswer(message: string): WatchdogApiError {
    return new WatchdogApiError(message, 200);
  }

  private _errorMessage(response: Response, body: unknown): string {
    if (response.status === 404 && reasonOf(body) === null) {
      return this._trans.__(
        'The WatchDog Lab server extension is not enabled on this Jupyter server. Run "%1" and restart JupyterLab.',
        'jupyter server extension enable watchdog_lab'
      );
    }
    if (response.status === 403) {
      return this._trans.__('The Jupyter server refused the request. Log in to JupyterLab again.');
    }
    // The extension's own message is already worded for the user; it is shown as the server
    // wrote it.
    const message =
      typeof body === 'object' && body !== null
        ? (body as { message?: unknown }).message
        : undefined;
    if (typeof message === 'string' && message) {
      return message;
    }
    return this._trans.__('The WatchDog Lab server extension failed (HTTP %1).', response.status);
  }

  private _trans: TranslationBundle;
}

/** The extension's own error code; a bare 404 from Jupyter (extension missing) has none. */
function reasonOf(body: unknown): string | null {
  if (typeof body !== 'object' || body === null) {
    return null;
  }
  const { reason, message } = body as { reason?: unknown; message?: unknown };
  return typeof reason === 'string' && typeof message === 'string' && /^[a-z_]+$/.test(reason)
    ? reason
    : null;
}

interface ISandboxBody {
  kernels: string;
  kernels_confined: boolean;
  bots: string;
  bots_confined: boolean;
}

function isSandboxBody(value: unknown): value is ISandboxBody {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const body = value as Record<string, unknown>;
  return (
    typeof body.kernels === 'string' &&
    typeof body.kernels_confined === 'boolean' &&
    typeof body.bots === 'string' &&
    typeof body.bots_confined === 'boolean'
  );
}

function isVaultStatus(value: unknown): value is IVaultStatus {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const state = (value as { state?: unknown }).state;
  return typeof state === 'string' && (VAULT_STATES as readonly string[]).includes(state);
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!text) {
    return null;
  }
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
