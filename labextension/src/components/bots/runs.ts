/**
 * A bot's run history: the executed notebooks the runner keeps (outputs redacted when saved,
 * and again by the server when sent), read defensively.
 */

/** One kept run, as `GET bots/{ref}/runs` lists it. */
export interface IRunSummary {
  /** `<UTC time>-r<number>.ipynb`, as the runner names it. */
  name: string;
  /** Seconds since the epoch. */
  createdAt: number;
  size: number;
}

/** The server's rule for run names: nothing else names a file of the bot's `runs/`. */
const RUN_NAME = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})-r(\d{5,9})\.ipynb$/;

export function parseRuns(value: unknown): IRunSummary[] | null {
  if (!isObject(value) || !Array.isArray(value.runs)) {
    return null;
  }
  const runs: IRunSummary[] = [];
  for (const item of value.runs) {
    if (
      !isObject(item) ||
      typeof item.name !== 'string' ||
      !RUN_NAME.test(item.name) ||
      typeof item.created_at !== 'number' ||
      typeof item.size !== 'number'
    ) {
      return null;
    }
    runs.push({ name: item.name, createdAt: item.created_at, size: item.size });
  }
  return runs;
}

/** The run's number and its UTC time, read from its name; `null` if the name is not one. */
export function runLabel(name: string): { run: number; time: Date } | null {
  const match = RUN_NAME.exec(name);
  if (!match) {
    return null;
  }
  const [, y, mo, d, h, mi, s, run] = match;
  return {
    run: Number(run),
    time: new Date(Date.UTC(+y, +mo - 1, +d, +h, +mi, +s))
  };
}

/** One output of an executed cell, as nbformat stores it. */
export interface IRunOutput {
  outputType: string;
  /** Mime bundle (display data, results, errors as `application/vnd.jupyter.error`). */
  data: Record<string, unknown>;
}

export interface IRunCell {
  cellType: 'code' | 'markdown' | 'raw';
  source: string;
  executionCount: number | null;
  outputs: IRunOutput[];
}

/** An executed notebook's cells; `null` if it is not an nbformat 4 notebook. */
export function runCells(value: unknown): IRunCell[] | null {
  if (!isObject(value) || !Array.isArray(value.cells)) {
    return null;
  }
  const cells: IRunCell[] = [];
  for (const cell of value.cells) {
    if (!isObject(cell)) {
      return null;
    }
    const type = cell.cell_type;
    if (type !== 'code' && type !== 'markdown' && type !== 'raw') {
      return null;
    }
    cells.push({
      cellType: type,
      source: text(cell.source),
      executionCount: typeof cell.execution_count === 'number' ? cell.execution_count : null,
      outputs: Array.isArray(cell.outputs) ? cell.outputs.map(outputOf).filter(isOutput) : []
    });
  }
  return cells;
}

/** The mime bundle of an nbformat output: streams and errors as the mime types JupyterLab's
 * renderers take for them. */
function outputOf(value: unknown): IRunOutput | null {
  if (!isObject(value) || typeof value.output_type !== 'string') {
    return null;
  }
  switch (value.output_type) {
    case 'stream':
      return {
        outputType: 'stream',
        data: { 'application/vnd.jupyter.stdout': text(value.text) }
      };
    case 'error':
      return {
        outputType: 'error',
        data: {
          'application/vnd.jupyter.stderr': Array.isArray(value.traceback)
            ? value.traceback.filter(line => typeof line === 'string').join('\n')
            : `${text(value.ename)}: ${text(value.evalue)}`
        }
      };
    case 'display_data':
    case 'execute_result': {
      if (!isObject(value.data)) {
        return null;
      }
      const data: Record<string, unknown> = {};
      for (const [mime, payload] of Object.entries(value.data)) {
        data[mime] =
          Array.isArray(payload) && payload.every(p => typeof p === 'string')
            ? payload.join('')
            : payload;
      }
      return { outputType: value.output_type, data };
    }
    default:
      return null;
  }
}

function isOutput(value: IRunOutput | null): value is IRunOutput {
  return value !== null;
}

function text(value: unknown): string {
  if (typeof value === 'string') {
    return value;
  }
  return Array.isArray(value) ? value.filter(v => typeof v === 'string').join('') : '';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
