/**
 * A unified diff (as the server's `DescribeFix.diff` carries it) split into typed lines, so the
 * view can colour and number them while React escapes every character of their text.
 */

export type DiffLineKind = 'file' | 'hunk' | 'added' | 'removed' | 'context';

export interface IDiffLine {
  kind: DiffLineKind;
  /** The line as the diff has it, marker included (`+`, `-`, ` `). */
  text: string;
  /** Line number in the cell as sent; `null` for an added line and the headers. */
  oldNumber: number | null;
  /** Line number in the proposed cell; `null` for a removed line and the headers. */
  newNumber: number | null;
}

const HUNK_HEADER = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/;

/** The lines of `diff`, each with its kind and numbers. */
export function parseUnifiedDiff(diff: string): IDiffLine[] {
  const lines: IDiffLine[] = [];
  let oldLine = 0;
  let newLine = 0;
  let inHunk = false;
  for (const text of splitLines(diff)) {
    const hunk = HUNK_HEADER.exec(text);
    if (hunk) {
      oldLine = Number(hunk[1]);
      newLine = Number(hunk[2]);
      inHunk = true;
      lines.push({ kind: 'hunk', text, oldNumber: null, newNumber: null });
    } else if (!inHunk) {
      // Before the first hunk: `--- a/cell` and `+++ b/cell`. Inside a hunk a line such as
      // `--- x` is a removed `-- x`, never a header (the diff is of one cell).
      lines.push({ kind: 'file', text, oldNumber: null, newNumber: null });
    } else if (text.startsWith('+')) {
      lines.push({ kind: 'added', text, oldNumber: null, newNumber: newLine++ });
    } else if (text.startsWith('-')) {
      lines.push({ kind: 'removed', text, oldNumber: oldLine++, newNumber: null });
    } else {
      lines.push({ kind: 'context', text, oldNumber: oldLine++, newNumber: newLine++ });
    }
  }
  return lines;
}

/** How many lines the proposal adds and removes. */
export function diffStats(lines: IDiffLine[]): { added: number; removed: number } {
  return {
    added: lines.filter(line => line.kind === 'added').length,
    removed: lines.filter(line => line.kind === 'removed').length
  };
}

function splitLines(text: string): string[] {
  if (!text) {
    return [];
  }
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') {
    lines.pop();
  }
  return lines;
}
