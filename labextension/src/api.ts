/**
 * The one place the front end talks to the WatchDog Lab server extension.
 *
 * Every request goes through `ServerConnection.makeRequest` so that the base URL, the token and
 * the XSRF cookie are handled the way the rest of JupyterLab handles them; components never build
 * URLs or parse responses themselves.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** URL segment under the server's base URL that all WatchDog Lab routes live in. */
export const API_NAMESPACE = 'watchdog-lab';

/** The vault states the server reports, in the order a user meets them. */
export const VAULT_STATES = ['absent', 'locked', 'unlocked'] as const;

export type VaultState = (typeof VAULT_STATES)[number];

export interface IVaultStatus {
  state: VaultState;
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

const NOT_ENABLED_MESSAGE =
  'The WatchDog Lab server extension is not enabled on this Jupyter server. ' +
  'Run "jupyter server extension enable watchdog_lab" and restart JupyterLab.';

const UNREACHABLE_MESSAGE =
  'The Jupyter server cannot be reached. Check that JupyterLab is still running.';

/**
 * Call a WatchDog Lab route and return its decoded JSON body.
 *
 * @param endPoint - path below `{baseUrl}watchdog-lab/`
 * @throws {WatchdogApiError} on network failure or a non-2xx answer
 */
export async function requestAPI<T>(
  endPoint: string,
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const url = URLExt.join(settings.baseUrl, API_NAMESPACE, endPoint);

  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch {
    throw new WatchdogApiError(UNREACHABLE_MESSAGE, null);
  }

  const body = await readJson(response);
  if (!response.ok) {
    throw new WatchdogApiError(
      errorMessage(response, body),
      response.status,
      reasonOf(body)
    );
  }
  return body as T;
}

/** Ask the server which state the vault is in. */
export async function fetchVaultStatus(
  settings?: ServerConnection.ISettings
): Promise<IVaultStatus> {
  const body = await requestAPI<unknown>('vault', { method: 'GET' }, settings);
  if (!isVaultStatus(body)) {
    throw new WatchdogApiError(
      'The server answered with a vault state this version of WatchDog Lab does not know. ' +
        'Reload the page after upgrading.',
      200
    );
  }
  return { state: body.state };
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

/** Ask the server which sandbox its notebook kernels and its bots get. */
export async function fetchSandboxLevels(
  settings?: ServerConnection.ISettings
): Promise<ISandboxLevels> {
  const body = await requestAPI<unknown>('sandbox', { method: 'GET' }, settings);
  if (!isSandboxBody(body)) {
    throw new WatchdogApiError(
      'The server answered with sandbox levels this version of WatchDog Lab does not know. ' +
        'Reload the page after upgrading.',
      200
    );
  }
  return {
    kernels: body.kernels,
    kernelsConfined: body.kernels_confined,
    bots: body.bots,
    botsConfined: body.bots_confined
  };
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

function errorMessage(response: Response, body: unknown): string {
  if (response.status === 404 && reasonOf(body) === null) {
    return NOT_ENABLED_MESSAGE;
  }
  if (response.status === 403) {
    return 'The Jupyter server refused the request. Log in to JupyterLab again.';
  }
  const message =
    typeof body === 'object' && body !== null
      ? (body as { message?: unknown }).message
      : undefined;
  if (typeof message === 'string' && message) {
    return message;
  }
  return `The WatchDog Lab server extension failed (HTTP ${response.status}).`;
}
