/**
 * A notebook kernel's grants and who uses each connection, as the server describes them, and
 * the rows of the notebook access list derived from them.
 *
 * Pure functions, away from React, so the rules (which connection shows as on, which are
 * listed at all) are what a unit test holds to. Nothing here is ever a secret value: grants and
 * usage carry names, ids and notebook paths only.
 */

/** One connection granted to a kernel. */
export interface IKernelGrant {
  connectionId: string;
  /** The current name; `null` while the vault is locked and the name was never seen. */
  connection: string | null;
  /** How it came about: `password` (`%wd connect`), `ui` (this toggle), `notebook`. */
  source: string;
  /** Also remembered for the kernel's notebook. */
  remembered: boolean;
}

/** `GET kernels/{id}/grants`: a kernel's grants and the notebook its session names. */
export interface IKernelGrants {
  kernelId: string;
  path: string | null;
  grants: IKernelGrant[];
}

/** A running kernel that holds a grant; `path` is its session's notebook, if any. */
export interface IKernelUse {
  kernelId: string;
  path: string | null;
}

/** `GET connection-usage`: one readable connection and who may use it. */
export interface IConnectionUsage {
  connectionId: string;
  connection: string;
  /** Names of the bots granted it. */
  bots: string[];
  /** Running kernels granted it. */
  kernels: IKernelUse[];
  /** Notebooks that remember a grant of it, offered to their next kernel. */
  remembered: string[];
}

/** One line of the notebook access list. */
export interface IAccessRow {
  connectionId: string;
  name: string;
  /** Granted to the current notebook's kernel. */
  granted: boolean;
  /** How the grant came about, when granted. */
  source: string | null;
}

/**
 * The notebook access list: every readable connection, in the server's order, on when the
 * kernel holds a grant of it. Grants of connections no longer listed (removed meanwhile) are
 * left out: there is nothing to toggle.
 */
export function accessRows(
  usage: readonly IConnectionUsage[],
  grants: IKernelGrants | null
): IAccessRow[] {
  const held = new Map((grants?.grants ?? []).map(grant => [grant.connectionId, grant]));
  return usage.map(entry => {
    const grant = held.get(entry.connectionId);
    return {
      connectionId: entry.connectionId,
      name: entry.connection,
      granted: grant !== undefined,
      source: grant?.source ?? null
    };
  });
}

/** What the Connections card says under a connection: notebooks first, then bots. */
export interface IUsageLines {
  /** Notebook paths of the kernels granted it (a kernel without a notebook by its id). */
  notebooks: string[];
  bots: string[];
}

/** The usage lines of one connection; empty lists when nothing uses it or usage is unknown. */
export function usageLines(usage: IConnectionUsage | undefined): IUsageLines {
  if (usage === undefined) {
    return { notebooks: [], bots: [] };
  }
  const notebooks = Array.from(
    new Set(usage.kernels.map(kernel => kernel.path ?? kernel.kernelId))
  ).sort();
  return { notebooks, bots: [...usage.bots] };
}

/** A kernel's grants from the wire, or `null` when this version cannot read them. */
export function parseKernelGrants(value: unknown): IKernelGrants | null {
  if (!isObject(value)) {
    return null;
  }
  const { kernel_id, path, grants } = value;
  if (
    typeof kernel_id !== 'string' ||
    !(typeof path === 'string' || path === null) ||
    !Array.isArray(grants)
  ) {
    return null;
  }
  const parsed: IKernelGrant[] = [];
  for (const grant of grants) {
    if (
      !isObject(grant) ||
      typeof grant.connection_id !== 'string' ||
      !(typeof grant.connection === 'string' || grant.connection === null) ||
      typeof grant.source !== 'string'
    ) {
      return null;
    }
    parsed.push({
      connectionId: grant.connection_id,
      connection: grant.connection,
      source: grant.source,
      remembered: grant.remembered === true
    });
  }
  return { kernelId: kernel_id, path, grants: parsed };
}

/** One connection's usage from the wire, or `null` when this version cannot read it. */
export function parseConnectionUsage(value: unknown): IConnectionUsage | null {
  if (!isObject(value)) {
    return null;
  }
  const { connection_id, connection, bots, kernels, remembered } = value;
  if (
    typeof connection_id !== 'string' ||
    typeof connection !== 'string' ||
    !isStringList(bots) ||
    !isStringList(remembered) ||
    !Array.isArray(kernels)
  ) {
    return null;
  }
  const uses: IKernelUse[] = [];
  for (const kernel of kernels) {
    if (
      !isObject(kernel) ||
      typeof kernel.kernel_id !== 'string' ||
      !(typeof kernel.path === 'string' || kernel.path === null)
    ) {
      return null;
    }
    uses.push({ kernelId: kernel.kernel_id, path: kernel.path });
  }
  return { connectionId: connection_id, connection, bots, kernels: uses, remembered };
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every(item => typeof item === 'string');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
