/**
 * AI Fix over REST: the previews, the sends and a bot's publish, read defensively.
 *
 * Built on the shared `WatchdogApiClient.request`, so the base URL, the token, the XSRF cookie
 * and the wording of failures are the ones every other card uses.
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { WatchdogApiClient, WatchdogApiError } from '../api';
import { IBotSummary, parseBot } from '../components/bots/bots';

/** A failing notebook cell as the server's `CreateCellFixPreview` takes it. */
export interface ICellError {
  source: string;
  ename: string;
  evalue: string;
  traceback: string[];
  language: string;
  languageVersion: string;
  /** The notebook's path, for the audit. */
  path: string;
  cellIndex: number | null;
}

/** `DescribeFixPayload`: exactly what would leave the machine, secrets already redacted. */
export interface IFixPayload {
  /** The exact JSON text of the Messages API request body. */
  body: string;
  sha256: string;
  /** Bytes of the body (UTF-8). */
  size: number;
  model: string;
  /** How many secrets the server replaced with `[REDACTED:...]` markers. */
  redactions: number;
  tracebackCut: boolean;
}

/** `DescribeFix`: the model's proposal, to review. */
export interface IFixProposal {
  outcome: 'fixed' | 'no_fix';
  explanation: string;
  fixedSource: string | null;
  /** Unified diff against the cell as it was sent. */
  diff: string;
  noFixReason: string | null;
  /** The cell held a secret, sent as a marker: the proposal carries the marker too. */
  sourceRedacted: boolean;
  sha256: string;
  model: string;
  inputTokens: number | null;
  outputTokens: number | null;
}

const JSON_HEADERS = { 'Content-Type': 'application/json' };

/** The AI Fix routes, for notebook cells and for bots. */
export class AIFixClient {
  constructor(
    readonly api: WatchdogApiClient,
    private readonly _trans: TranslationBundle
  ) {}

  /** `POST ai-fix/preview`: what a fix of this cell would send; needs no password. */
  async previewCell(cell: ICellError): Promise<IFixPayload> {
    const body = await this.api.request<unknown>('ai-fix/preview', {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify(cellBody(cell))
    });
    return this._payload(body);
  }

  /** `POST ai-fix`: send the previewed payload (its `sha256`), with the vault password. */
  async sendCell(
    cell: ICellError,
    sha256: string,
    password: string,
    connection: string | null = null
  ): Promise<IFixProposal> {
    const request: Record<string, unknown> = { ...cellBody(cell), sha256, password };
    if (connection !== null) {
      request.connection = connection;
    }
    const body = await this.api.request<unknown>('ai-fix', {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify(request)
    });
    return this._proposal(body);
  }

  /** `GET bots/{ref}`: the bot as it is now (its notebook version is what a fix is made for). */
  async describeBot(ref: string): Promise<IBotSummary> {
    const bot = parseBot(await this.api.request<unknown>(botPath(ref), { method: 'GET' }));
    if (bot === null) {
      throw this._unknown();
    }
    return bot;
  }

  /** `GET bots/{ref}/ai-fix/preview`: what a fix of the bot's failing cell would send. */
  async previewBot(ref: string): Promise<IFixPayload> {
    return this._payload(
      await this.api.request<unknown>(botPath(ref, 'ai-fix/preview'), { method: 'GET' })
    );
  }

  /** `POST bots/{ref}/ai-fix`: send the bot's previewed payload, with the vault password. */
  async sendBot(
    ref: string,
    sha256: string,
    password: string,
    connection: string | null = null
  ): Promise<IFixProposal> {
    const request: Record<string, unknown> = { sha256, password };
    if (connection !== null) {
      request.connection = connection;
    }
    const body = await this.api.request<unknown>(botPath(ref, 'ai-fix'), {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify(request)
    });
    return this._proposal(body);
  }

  /**
   * `POST bots/{ref}/ai-fix/apply`: publish the fixed cell as the next notebook version, made
   * for `expectedVersion` (a bot that moved on since is refused). Always with the password: it
   * is the user's confirmation, and only a confirmed version is sealed.
   */
  async applyBot(
    ref: string,
    fixedSource: string,
    expectedVersion: number,
    payloadSha256: string,
    password: string
  ): Promise<IBotSummary> {
    const bot = parseBot(
      await this.api.request<unknown>(botPath(ref, 'ai-fix/apply'), {
        method: 'POST',
        headers: JSON_HEADERS,
        body: JSON.stringify({
          fixed_source: fixedSource,
          expected_version: expectedVersion,
          payload_sha256: payloadSha256,
          password
        })
      })
    );
    if (bot === null) {
      throw this._unknown();
    }
    return bot;
  }

  /** The names of the vault's `anthropic` connections (names are not secret). */
  async anthropicConnections(): Promise<string[]> {
    const connections = await this.api.listConnections();
    return connections
      .filter(connection => connection.kind === ANTHROPIC_KIND && connection.name !== null)
      .map(connection => connection.name as string);
  }

  private _payload(body: unknown): IFixPayload {
    const payload = parsePayload(body);
    if (payload === null) {
      throw this._unknown();
    }
    return payload;
  }

  private _proposal(body: unknown): IFixProposal {
    const proposal = parseProposal(body);
    if (proposal === null) {
      throw this._unknown();
    }
    return proposal;
  }

  private _unknown(): WatchdogApiError {
    return new WatchdogApiError(
      this._trans.__(
        'The server answered with an AI Fix this version of WatchDog Lab does not know. Reload the page after upgrading.'
      ),
      200
    );
  }
}

/** The connection kind whose key AI Fix sends with. */
export const ANTHROPIC_KIND = 'anthropic';

function botPath(ref: string, below?: string): string {
  const path = `bots/${encodeURIComponent(ref)}`;
  return below ? `${path}/${below}` : path;
}

function cellBody(cell: ICellError): Record<string, unknown> {
  return {
    source: cell.source,
    ename: cell.ename,
    evalue: cell.evalue,
    traceback: cell.traceback,
    language: cell.language,
    language_version: cell.languageVersion,
    path: cell.path,
    cell_index: cell.cellIndex
  };
}

/** A `DescribeFixPayload`, or `null` if it is not one this version can show. */
export function parsePayload(value: unknown): IFixPayload | null {
  if (!isObject(value)) {
    return null;
  }
  const { body, sha256, size, model, redactions, traceback_cut } = value;
  if (
    typeof body !== 'string' ||
    typeof sha256 !== 'string' ||
    !/^[0-9a-f]{64}$/.test(sha256) ||
    typeof size !== 'number' ||
    typeof model !== 'string' ||
    typeof redactions !== 'number' ||
    typeof traceback_cut !== 'boolean'
  ) {
    return null;
  }
  return { body, sha256, size, model, redactions, tracebackCut: traceback_cut };
}

/** A `DescribeFix`, or `null` if it is not one this version can show. */
export function parseProposal(value: unknown): IFixProposal | null {
  if (!isObject(value)) {
    return null;
  }
  const { outcome, explanation, fixed_source, diff, sha256, model } = value;
  if (
    (outcome !== 'fixed' && outcome !== 'no_fix') ||
    typeof explanation !== 'string' ||
    typeof sha256 !== 'string' ||
    typeof model !== 'string' ||
    (outcome === 'fixed' && typeof fixed_source !== 'string')
  ) {
    return null;
  }
  return {
    outcome,
    explanation,
    fixedSource: typeof fixed_source === 'string' ? fixed_source : null,
    diff: typeof diff === 'string' ? diff : '',
    noFixReason: typeof value.no_fix_reason === 'string' ? value.no_fix_reason : null,
    sourceRedacted: value.source_redacted === true,
    sha256,
    model,
    inputTokens: typeof value.input_tokens === 'number' ? value.input_tokens : null,
    outputTokens: typeof value.output_tokens === 'number' ? value.output_tokens : null
  };
}

/** The user message of a Messages API body: what the model reads, or `null`. */
export function payloadMessage(body: string): string | null {
  try {
    const parsed: unknown = JSON.parse(body);
    if (!isObject(parsed) || !Array.isArray(parsed.messages)) {
      return null;
    }
    const first: unknown = parsed.messages[0];
    return isObject(first) && typeof first.content === 'string' ? first.content : null;
  } catch {
    return null;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
