/**
 * The lines a log view holds: bounded, in sequence order, each record once, with a filtered
 * index kept up to date as lines arrive.
 *
 * A busy bot writes hundreds of lines a second and a view may stay open for days, so the
 * buffer drops its oldest lines beyond `capacity` and every operation on the arrival path is
 * amortised O(1) per line: lines live in a plain array read from a moving start (compacted
 * now and then, never shifted per line), and lines are numbered absolutely (the n-th line ever
 * added is `n`) so the filtered index never needs renumbering when old lines go.
 */
import { ILogLine, ILogRecord, LOG_LEVELS, LogLevel, linesOf } from './records';

/** What the view shows: lines at or above a level that contain a text (any case). */
export interface ILogFilter {
  minLevel: LogLevel;
  text: string;
}

export const NO_FILTER: Readonly<ILogFilter> = { minLevel: 'debug', text: '' };

/** Below this many dropped entries an array is not worth compacting. */
const MIN_COMPACT = 1024;

export class LogBuffer {
  constructor(capacity: number) {
    this._capacity = Math.max(1, Math.floor(capacity));
  }

  /** The most lines held; setting it lower drops the oldest at once. */
  get capacity(): number {
    return this._capacity;
  }

  set capacity(value: number) {
    this._capacity = Math.max(1, Math.floor(value));
    this._trim();
  }

  /** The sequence number of the last record taken: the point a stream resumes after. */
  get lastSeq(): number {
    return this._lastSeq;
  }

  /** Lines held now. */
  get size(): number {
    return this._lines.length - this._start;
  }

  /** The absolute number of the oldest line held (= lines dropped so far). */
  get first(): number {
    return this._first;
  }

  /** The absolute number the next line will get (= lines ever added). */
  get end(): number {
    return this._first + this.size;
  }

  /** Records skipped because their sequence number was already seen (a resume overlap). */
  get duplicates(): number {
    return this._duplicates;
  }

  /** The line with this absolute number; it must be held (`first <= n < end`). */
  line(n: number): ILogLine {
    return this._lines[this._start + n - this._first];
  }

  /**
   * Take records in the order received; any with a sequence number not above the last one
   * taken is a duplicate (a reconnect that overlapped) and is dropped. Returns the lines added.
   */
  append(records: readonly ILogRecord[]): number {
    let added = 0;
    for (const record of records) {
      if (record.seq <= this._lastSeq) {
        this._duplicates += 1;
        continue;
      }
      this._lastSeq = record.seq;
      for (const line of linesOf(record)) {
        const n = this.end;
        this._lines.push(line);
        if (this._filtering && this._matches(line)) {
          this._index.push(n);
        }
        added += 1;
      }
    }
    this._trim();
    return added;
  }

  /** Forget every line, but not the last sequence number: a cleared view does not replay. */
  clear(): void {
    this._first = this.end;
    this._lines = [];
    this._start = 0;
    this._index = [];
    this._indexStart = 0;
  }

  get filter(): Readonly<ILogFilter> {
    return this._filter;
  }

  /** A new filter re-indexes the held lines once (O(lines)); arrivals then index as they come. */
  set filter(value: Readonly<ILogFilter>) {
    this._filter = { minLevel: value.minLevel, text: value.text };
    this._needle = value.text.toLocaleLowerCase();
    this._minRank = LOG_LEVELS.indexOf(value.minLevel);
    this._filtering = this._needle !== '' || this._minRank > 0;
    this._index = [];
    this._indexStart = 0;
    if (this._filtering) {
      for (let n = this._first; n < this.end; n++) {
        if (this._matches(this.line(n))) {
          this._index.push(n);
        }
      }
    }
  }

  /** How many held lines pass the filter among those numbered below `before`. */
  matchCount(before: number = this.end): number {
    if (!this._filtering) {
      return Math.max(0, Math.min(before, this.end) - this._first);
    }
    // The index is sorted: the count below `before` is where `before` would be inserted.
    let low = this._indexStart;
    let high = this._index.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this._index[middle] < before) {
        low = middle + 1;
      } else {
        high = middle;
      }
    }
    return low - this._indexStart;
  }

  /** The i-th line (from 0) passing the filter. */
  match(i: number): ILogLine {
    return this.line(this._filtering ? this._index[this._indexStart + i] : this._first + i);
  }

  private _matches(line: ILogLine): boolean {
    return (
      LOG_LEVELS.indexOf(line.level) >= this._minRank &&
      (this._needle === '' || line.text.toLocaleLowerCase().includes(this._needle))
    );
  }

  /** Drop the oldest lines beyond capacity, and compact the arrays once enough has gone. */
  private _trim(): void {
    const excess = this.size - this._capacity;
    if (excess > 0) {
      this._start += excess;
      this._first += excess;
      while (this._indexStart < this._index.length && this._index[this._indexStart] < this._first) {
        this._indexStart += 1;
      }
    }
    const slack = Math.max(MIN_COMPACT, this._capacity >>> 1);
    if (this._start > slack) {
      this._lines = this._lines.slice(this._start);
      this._start = 0;
    }
    if (this._indexStart > slack) {
      this._index = this._index.slice(this._indexStart);
      this._indexStart = 0;
    }
  }

  private _capacity: number;
  private _lastSeq = 0;
  private _duplicates = 0;
  private _lines: ILogLine[] = [];
  private _start = 0;
  private _first = 0;
  private _filter: ILogFilter = { ...NO_FILTER };
  private _needle = '';
  private _minRank = 0;
  private _filtering = false;
  private _index: number[] = [];
  private _indexStart = 0;
}
