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

import { IBotSummary, parseBot } from './components/bots/bots';
import {
  IConnectionUsage,
  IKernelGrants,
  parseConnectionUsage,
  parseKernelGrants
} from './components/access/grants';
import { IAuditPage, parseAuditPage } from './components/audit/audit';
import {
  IBackupEntry,
  IBackupListing,
  IBackupVerification,
  IRestoreResult,
  parseBackupEntry,
  parseBackupListing,
  parseRestore,
  parseVerification
} from './components/backups/backups';
import { IRunSummary, parseRuns } from './components/bots/runs';
import { IConnectionSummary, IKindDescription, parseConnection, parseKind } from './connections';
import { IPromoteJob, IPromotePlan, IPromoteRequest, parseJob, parsePlan } from './promote/model';
import { loadTranslation } from './translation';

/** URL segment under the server's base URL that all WatchDog Lab routes live in. */
export const API_NAMESPACE = 'watchdog-lab';

/** The vault states the server reports, in the order a user meets them. */
export const VAULT_STATES = ['absent', 'locked', 'unlocked'] as const;

export type VaultState = (typeof VAULT_STATES)[number];

export interface IVaultStatus {
  state: VaultState;
  /** Whether an unlock needs a two-factor code too; absent from servers that do not say. */
  totpEnabled?: boolean;
  /** When the auto-lock will drop the key if nothing uses the vault (browser clock,
   * milliseconds since the epoch); absent when locked, auto-lock off, or the server does
   * not say. */
  locksAt?: number;
}

/** A two-factor enrolment in progress: what the user scans or types into an authenticator. */
export interface ITotpEnrolment {
  /** The base32 seed; a secret, held only while the enrolment step is on screen. */
  secret: string;
  /** The `otpauth://` URI the QR code encodes; it contains the secret too. */
  provisioningUri: string;
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
    return vaultStatusOf(body);
  }

  /** Create the vault with its first password; the server leaves it unlocked. */
  async createVault(password: string): Promise<IVaultStatus> {
    return this._vaultAction('vault', { password });
  }

  /** Unlock with the password, and the current two-factor code when two-factor is on. */
  async unlockVault(password: string, totpCode?: string): Promise<IVaultStatus> {
    return this._vaultAction(
      'vault/unlock',
      totpCode ? { password, totp_code: totpCode } : { password }
    );
  }

  /** Lock the vault now; locking a locked vault is not an error. */
  async lockVault(): Promise<IVaultStatus> {
    return this._vaultAction('vault/lock', {});
  }

  /** Change the vault password; the server checks the current one like an unlock. */
  async changeVaultPassword(oldPassword: string, newPassword: string): Promise<IVaultStatus> {
    return this._vaultAction('vault/password', {
      old_password: oldPassword,
      new_password: newPassword
    });
  }

  /**
   * Begin two-factor enrolment: a fresh secret and its otpauth URI, the only answer of the API
   * that carries a secret. Nothing is stored by the server until `confirmTotp`; the caller keeps
   * the enrolment in memory only while it is shown, and never persists it.
   */
  async beginTotp(password: string): Promise<ITotpEnrolment> {
    const answer = await this.request<unknown>('vault/totp', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ password })
    });
    if (!isTotpEnrolment(answer)) {
      throw this._unknownAnswer(
        this._trans.__(
          'The server answered with a two-factor enrolment this version of WatchDog Lab does not know. Reload the page after upgrading.'
        )
      );
    }
    return { secret: answer.secret, provisioningUri: answer.provisioning_uri };
  }

  /** Finish enrolment: the password, the secret shown, and a code the authenticator made. */
  async confirmTotp(password: string, secret: string, code: string): Promise<IVaultStatus> {
    return this._vaultAction('vault/totp/confirm', { password, secret, code });
  }

  /** Turn two-factor off; the server wants the password and a current code, both. */
  async disableTotp(password: string, code: string): Promise<IVaultStatus> {
    return this._vaultAction('vault/totp', { password, code }, 'DELETE');
  }

  /** POST a vault action; every one of them answers the vault state it left behind. */
  private async _vaultAction(
    endPoint: string,
    body: object,
    method: 'POST' | 'DELETE' = 'POST'
  ): Promise<IVaultStatus> {
    const answer = await this.request<unknown>(endPoint, {
      method,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body)
    });
    if (!isVaultStatus(answer)) {
      throw this._unknownAnswer(
        this._trans.__(
          'The server answered with a vault state this version of WatchDog Lab does not know. Reload the page after upgrading.'
        )
      );
    }
    return vaultStatusOf(answer);
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

  /** The connection kinds and their fields, to build the add form from. */
  async listKinds(): Promise<IKindDescription[]> {
    const body = await this.request<unknown>('kinds', { method: 'GET' });
    const kinds = listOf(body, 'kinds', parseKind);
    if (kinds === null) {
      throw this._unknownAnswer(
        this._trans.__(
          'The server answered with connection kinds this version of WatchDog Lab does not know. Reload the page after upgrading.'
        )
      );
    }
    return kinds;
  }

  /** Every connection, masked as the server masks it. */
  async listConnections(): Promise<IConnectionSummary[]> {
    const body = await this.request<unknown>('connections', { method: 'GET' });
    const connections = listOf(body, 'connections', parseConnection);
    if (connections === null) {
      throw this._unknownConnection();
    }
    return connections;
  }

  /** Add a connection; the answer is masked. The caller drops `fields` as soon as this is
   * called: the request body is the only place the values go. */
  async createConnection(
    name: string,
    kind: string,
    fields: Record<string, string>
  ): Promise<IConnectionSummary> {
    const body = await this.request<unknown>('connections', {
      method: 'POST',
      body: JSON.stringify({ name, kind, fields })
    });
    return this._connection(body);
  }

  /** Rename a connection (no password: a name reaches no secret). */
  async renameConnection(name: string, newName: string): Promise<IConnectionSummary> {
    const body = await this.request<unknown>(`connections/${encodeURIComponent(name)}/rename`, {
      method: 'POST',
      body: JSON.stringify({ new_name: newName })
    });
    return this._connection(body);
  }

  /** Remove a connection by name, confirmed with the vault password. */
  async deleteConnection(name: string, password: string): Promise<void> {
    await this.request<unknown>(`connections/${encodeURIComponent(name)}`, {
      method: 'DELETE',
      body: JSON.stringify({ password })
    });
  }

  /** Remove a record whose name no longer decrypts, by its id, confirmed with the password. */
  async deleteConnectionById(id: string, password: string): Promise<void> {
    await this.request<unknown>(`connections/by-id/${encodeURIComponent(id)}`, {
      method: 'DELETE',
      body: JSON.stringify({ password })
    });
  }

  /** Every bot with its state, as `GET bots` lists them. */
  async listBots(): Promise<IBotSummary[]> {
    const bots = listOf(await this.request<unknown>('bots', { method: 'GET' }), 'bots', parseBot);
    if (bots === null) {
      throw this._unknownBot();
    }
    return bots;
  }

  /** Start, stop or restart a bot by name; the server answers the bot afterwards. A bot with
   * connections cannot start while the vault is locked: the server's message says so. */
  async botAction(name: string, action: 'start' | 'stop' | 'restart'): Promise<IBotSummary> {
    const body = await this.request<unknown>(`bots/${encodeURIComponent(name)}/${action}`, {
      method: 'POST'
    });
    const bot = parseBot(body);
    if (bot === null) {
      throw this._unknownBot();
    }
    return bot;
  }

  /** Stop a bot and remove it, its folder and its kernelspec. */
  async deleteBot(name: string): Promise<void> {
    await this.request<unknown>(`bots/${encodeURIComponent(name)}`, { method: 'DELETE' });
  }

  /** What promoting a notebook (its path in the file browser) would install, each package
   * with the policy's verdict, and its parameters; nothing is installed. */
  async planPromote(notebook: string, allowPackages: string[] = []): Promise<IPromotePlan> {
    const plan = parsePlan(
      await this.request<unknown>('promote/plan', {
        method: 'POST',
        body: JSON.stringify({ notebook, allow_packages: allowPackages })
      })
    );
    if (plan === null) {
      throw this._unknownAnswer(
        this._trans.__(
          'The server answered with a promote plan this version of WatchDog Lab does not know. Reload the page after upgrading.'
        )
      );
    }
    return plan;
  }

  /** Start a promote job. `password` goes only into this request's body, needed when the bot
   * is granted connections; the caller drops it as soon as this is called. */
  async promote(request: IPromoteRequest, password?: string): Promise<IPromoteJob> {
    const body = password ? { ...request, password } : request;
    return this._job(
      await this.request<unknown>('bots', { method: 'POST', body: JSON.stringify(body) })
    );
  }

  /** A promote job's steps so far, then its bot or its error. */
  async promoteJob(id: string): Promise<IPromoteJob> {
    return this._job(
      await this.request<unknown>(`bots/jobs/${encodeURIComponent(id)}`, { method: 'GET' })
    );
  }

  /** The executed notebooks a bot kept, newest first. */
  async listRuns(bot: string): Promise<IRunSummary[]> {
    const runs = parseRuns(
      await this.request<unknown>(`bots/${encodeURIComponent(bot)}/runs`, { method: 'GET' })
    );
    if (runs === null) {
      throw this._unknownBot();
    }
    return runs;
  }

  /** One executed notebook, as nbformat JSON (outputs redacted). */
  async getRun(bot: string, run: string): Promise<unknown> {
    return this.request<unknown>(
      `bots/${encodeURIComponent(bot)}/runs/${encodeURIComponent(run)}`,
      { method: 'GET' }
    );
  }

  /** A bot's current notebook version with its kernel set to the bot's kernelspec, to be
   * saved as a new file: the sealed version itself is never opened for editing. */
  async botNotebook(
    bot: string
  ): Promise<{ bot: string; version: number; kernelName: string; notebook: object }> {
    const body = await this.request<unknown>(`bots/${encodeURIComponent(bot)}/notebook`, {
      method: 'GET'
    });
    const { version, kernel_name, notebook } = (body ?? {}) as Record<string, unknown>;
    if (
      typeof version !== 'number' ||
      typeof kernel_name !== 'string' ||
      typeof notebook !== 'object' ||
      notebook === null
    ) {
      throw this._unknownBot();
    }
    return { bot, version, kernelName: kernel_name, notebook };
  }

  private _job(body: unknown): IPromoteJob {
    const job = parseJob(body);
    if (job === null) {
      throw this._unknownAnswer(
        this._trans.__(
          'The server answered with a promote job this version of WatchDog Lab does not know. Reload the page after upgrading.'
        )
      );
    }
    return job;
  }

  /** The connections granted to a notebook's kernel, and the notebook its session names. */
  async kernelGrants(kernelId: string): Promise<IKernelGrants> {
    const body = await this.request<unknown>(`kernels/${encodeURIComponent(kernelId)}/grants`, {
      method: 'GET'
    });
    const grants = parseKernelGrants(body);
    if (grants === null) {
      throw this._unknownAnswer(
        this._trans.__(
          'The server answered with notebook grants this version of WatchDog Lab does not know. Reload the page after upgrading.'
        )
      );
    }
    return grants;
  }

  /** Grant a connection (name or id) to a notebook's kernel, confirmed with the vault
   * password; the caller has already emptied the input the password came from. */
  async grantToKernel(kernelId: string, connection: string, password: string): Promise<void> {
    await this.request<unknown>(`kernels/${encodeURIComponent(kernelId)}/grants`, {
      method: 'POST',
      body: JSON.stringify({ connection, password })
    });
  }

  /** Withdraw a kernel's grant now: its next `wd.connection` call is refused. */
  async revokeFromKernel(kernelId: string, connection: string): Promise<void> {
    await this.request<unknown>(
      `kernels/${encodeURIComponent(kernelId)}/grants/${encodeURIComponent(connection)}`,
      { method: 'DELETE' }
    );
  }

  /** Who may use each connection: bots by name, kernels with their notebooks. */
  async connectionUsage(): Promise<IConnectionUsage[]> {
    const body = await this.request<unknown>('connection-usage', { method: 'GET' });
    const usage = listOf(body, 'usage', parseConnectionUsage);
    if (usage === null) {
      throw this._unknownAnswer(
        this._trans.__(
          'The server answered with connection usage this version of WatchDog Lab does not know. Reload the page after upgrading.'
        )
      );
    }
    return usage;
  }

  /** One page of the audit trail, newest first; `before` continues from a `nextBefore`. */
  async auditPage(limit: number, before?: number): Promise<IAuditPage> {
    const query = new URLSearchParams({ limit: String(limit) });
    if (before !== undefined) {
      query.set('before', String(before));
    }
    const page = parseAuditPage(
      await this.request<unknown>(`audit?${query.toString()}`, { method: 'GET' })
    );
    if (page === null) {
      throw this._unknownAnswer(
        this._trans.__(
          'The server answered with an audit trail this version of WatchDog Lab does not know. Reload the page after upgrading.'
        )
      );
    }
    return page;
  }

  /** The vault's snapshots, newest first, with the retention and the automatic backups'
   * state. */
  async listBackups(): Promise<IBackupListing> {
    return this._backupAnswer(
      await this.request<unknown>('backups', { method: 'GET' }),
      parseBackupListing
    );
  }

  /** Take a snapshot now; the server refuses while the vault is locked. */
  async createBackup(): Promise<IBackupEntry> {
    return this._backupAnswer(
      await this.request<unknown>('backups', { method: 'POST', body: JSON.stringify({}) }),
      parseBackupEntry
    );
  }

  /** Check a snapshot's files against their seals; a damaged one answers `ok: false`. */
  async verifyBackup(id: string): Promise<IBackupVerification> {
    return this._backupAnswer(
      await this.request<unknown>(`backups/${encodeURIComponent(id)}/verify`, {
        method: 'POST',
        body: JSON.stringify({})
      }),
      parseVerification
    );
  }

  /** Put a snapshot back in place of the vault, confirmed with the vault password; the caller
   * has already emptied the input the password came from. */
  async restoreBackup(id: string, password: string): Promise<IRestoreResult> {
    return this._backupAnswer(
      await this.request<unknown>(`backups/${encodeURIComponent(id)}/restore`, {
        method: 'POST',
        body: JSON.stringify({ password })
      }),
      parseRestore
    );
  }

  private _backupAnswer<T>(body: unknown, parse: (body: unknown) => T | null): T {
    const parsed = parse(body);
    if (parsed === null) {
      throw this._unknownAnswer(
        this._trans.__(
          'The server answered with backups this version of WatchDog Lab does not know. Reload the page after upgrading.'
        )
      );
    }
    return parsed;
  }

  private _unknownBot(): WatchdogApiError {
    return this._unknownAnswer(
      this._trans.__(
        'The server answered with a bot this version of WatchDog Lab does not know. Reload the page after upgrading.'
      )
    );
  }

  private _connection(body: unknown): IConnectionSummary {
    const connection = parseConnection(body);
    if (connection === null) {
      throw this._unknownConnection();
    }
    return connection;
  }

  private _unknownConnection(): WatchdogApiError {
    return this._unknownAnswer(
      this._trans.__(
        'The server answered with a connection this version of WatchDog Lab does not know. Reload the page after upgrading.'
      )
    );
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

/** `body[key]` parsed item by item, or `null` if the body or any item is not as expected. */
function listOf<T>(body: unknown, key: string, parse: (item: unknown) => T | null): T[] | null {
  if (typeof body !== 'object' || body === null) {
    return null;
  }
  const items = (body as Record<string, unknown>)[key];
  if (!Array.isArray(items)) {
    return null;
  }
  const parsed: T[] = [];
  for (const item of items) {
    const one = parse(item);
    if (one === null) {
      return null;
    }
    parsed.push(one);
  }
  return parsed;
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

/** The status as the front end names it; `totpEnabled` only when the server said. */
function vaultStatusOf(body: {
  state: VaultState;
  totp_enabled?: unknown;
  locks_in_seconds?: unknown;
}): IVaultStatus {
  const status: IVaultStatus =
    typeof body.totp_enabled === 'boolean'
      ? { state: body.state, totpEnabled: body.totp_enabled }
      : { state: body.state };
  // Seconds from now, not a server timestamp: the two clocks need not agree.
  const seconds = body.locks_in_seconds;
  if (typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0) {
    status.locksAt = Date.now() + seconds * MS_PER_SECOND;
  }
  return status;
}

const MS_PER_SECOND = 1000;

function isTotpEnrolment(value: unknown): value is { secret: string; provisioning_uri: string } {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const { secret, provisioning_uri } = value as { secret?: unknown; provisioning_uri?: unknown };
  return (
    typeof secret === 'string' &&
    secret.length > 0 &&
    typeof provisioning_uri === 'string' &&
    provisioning_uri.startsWith('otpauth://')
  );
}

function isVaultStatus(
  value: unknown
): value is { state: VaultState; totp_enabled?: unknown; locks_in_seconds?: unknown } {
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
