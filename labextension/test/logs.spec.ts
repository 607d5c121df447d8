import { LogBuffer } from '../src/logs/buffer';
import { rowWindow } from '../src/logs/LogList';
import { ILogRecord, levelOf, linesOf, parseRecord } from '../src/logs/records';
import { SseParser } from '../src/logs/sse';

function record(seq: number, text: string, stream = 'stdout'): ILogRecord {
  return { seq, ts: 1_700_000_000 + seq, stream, text };
}

function texts(buffer: LogBuffer): string[] {
  const out: string[] = [];
  for (let i = 0; i < buffer.matchCount(); i++) {
    out.push(buffer.match(i).text);
  }
  return out;
}

describe('log records', () => {
  it('splits a record into its lines, without the newline that ends it', () => {
    expect(linesOf(record(1, 'a\nb\r\nc\n')).map(line => line.text)).toEqual(['a', 'b', 'c']);
  });

  it('gives every line of a traceback the error level', () => {
    const lines = linesOf(record(1, 'Traceback\n  File "x"\nValueError: no', 'error'));
    expect(lines.map(line => line.level)).toEqual(['error', 'error', 'error']);
  });

  it('reads a logging level near the start of a line, and only there', () => {
    expect(levelOf('stderr', '2026-01-01 10:00:00,000 WARNING low balance')).toBe('warning');
    expect(levelOf('stderr', '2026-01-01 10:00:00,000 ERROR order refused')).toBe('error');
    expect(levelOf('stdout', 'DEBUG tick')).toBe('debug');
    expect(levelOf('stdout', `${'x'.repeat(60)} ERROR later in the line`)).toBe('info');
  });

  it("reads the runner's failure messages as warnings and errors", () => {
    expect(levelOf('system', 'run 3 failed (ValueError: no); restarting in 1s')).toBe('warning');
    expect(levelOf('system', 'giving up: crash loop: 5 failures within 300s')).toBe('error');
    expect(levelOf('system', 'runner started (pid 1)')).toBe('info');
  });

  it('refuses a record without a whole-number sequence', () => {
    expect(parseRecord({ seq: 1.5, ts: 1, stream: 'stdout', text: 'x' })).toBeNull();
    expect(parseRecord({ seq: '1', ts: 1, stream: 'stdout', text: 'x' })).toBeNull();
    expect(parseRecord({ seq: 2, ts: 1, stream: 'stdout', text: 'x', run: 1 })).toEqual({
      seq: 2,
      ts: 1,
      stream: 'stdout',
      text: 'x',
      run: 1
    });
  });
});

describe('log buffer', () => {
  it('drops records whose sequence number it already holds (a resume overlap)', () => {
    const buffer = new LogBuffer(100);
    buffer.append([record(1, 'one'), record(2, 'two')]);
    buffer.append([record(2, 'two'), record(1, 'one'), record(3, 'three')]);
    expect(texts(buffer)).toEqual(['one', 'two', 'three']);
    expect(buffer.lastSeq).toBe(3);
    expect(buffer.duplicates).toBe(2);
  });

  it('keeps only the newest lines beyond its capacity', () => {
    const buffer = new LogBuffer(3);
    buffer.append([1, 2, 3, 4, 5].map(n => record(n, `line ${n}`)));
    expect(texts(buffer)).toEqual(['line 3', 'line 4', 'line 5']);
    expect(buffer.first).toBe(2);
    buffer.capacity = 2;
    expect(texts(buffer)).toEqual(['line 4', 'line 5']);
  });

  it('holds 100,000 lines in order after many compactions', () => {
    const buffer = new LogBuffer(100_000);
    for (let batch = 0; batch < 250; batch++) {
      buffer.append(
        Array.from({ length: 1000 }, (_, i) => record(batch * 1000 + i + 1, `n${batch * 1000 + i}`))
      );
    }
    expect(buffer.size).toBe(100_000);
    expect(buffer.match(0).text).toBe('n150000');
    expect(buffer.match(99_999).text).toBe('n249999');
    let outOfOrder = 0;
    for (let i = 1; i < buffer.size; i++) {
      outOfOrder += buffer.match(i).seq === buffer.match(i - 1).seq + 1 ? 0 : 1;
    }
    expect(outOfOrder).toBe(0);
  });

  it('filters by text, any case, and indexes the lines that arrive afterwards', () => {
    const buffer = new LogBuffer(100);
    buffer.append([record(1, 'BUY 1'), record(2, 'sell 1')]);
    buffer.filter = { minLevel: 'debug', text: 'buy' };
    buffer.append([record(3, 'buy 2'), record(4, 'hold')]);
    expect(texts(buffer)).toEqual(['BUY 1', 'buy 2']);
  });

  it('filters by the least level, and shows all again when the filter is cleared', () => {
    const buffer = new LogBuffer(100);
    buffer.append([
      record(1, 'x INFO fine'),
      record(2, 'x WARNING careful'),
      record(3, 'boom', 'error')
    ]);
    buffer.filter = { minLevel: 'warning', text: '' };
    expect(texts(buffer)).toEqual(['x WARNING careful', 'boom']);
    buffer.filter = { minLevel: 'error', text: '' };
    expect(texts(buffer)).toEqual(['boom']);
    buffer.filter = { minLevel: 'debug', text: '' };
    expect(texts(buffer)).toHaveLength(3);
  });

  it('keeps the filtered index right while old lines are dropped', () => {
    const buffer = new LogBuffer(4);
    buffer.filter = { minLevel: 'debug', text: 'keep' };
    buffer.append([1, 2, 3, 4, 5, 6].map(n => record(n, n % 2 ? `keep ${n}` : `skip ${n}`)));
    expect(texts(buffer)).toEqual(['keep 3', 'keep 5']);
  });

  it('counts the matching lines before a point (what a paused view shows)', () => {
    const buffer = new LogBuffer(100);
    buffer.filter = { minLevel: 'debug', text: 'a' };
    buffer.append([record(1, 'a'), record(2, 'b'), record(3, 'a')]);
    const pausedAt = buffer.end;
    buffer.append([record(4, 'a')]);
    expect(buffer.matchCount(pausedAt)).toBe(2);
    expect(buffer.matchCount()).toBe(3);
  });

  it('does not replay cleared lines', () => {
    const buffer = new LogBuffer(100);
    buffer.append([record(1, 'old')]);
    buffer.clear();
    buffer.append([record(1, 'old'), record(2, 'new')]);
    expect(texts(buffer)).toEqual(['new']);
  });
});

describe('row window', () => {
  it('renders the rows in sight and a few around them, never past the ends', () => {
    expect(rowWindow(100_000, 0, 180, 18, 5)).toEqual([0, 15]);
    expect(rowWindow(100_000, 18 * 50_000, 180, 18, 5)).toEqual([49_995, 50_015]);
    expect(rowWindow(10, 0, 1000, 18, 5)).toEqual([0, 10]);
    expect(rowWindow(0, 0, 1000, 18, 5)).toEqual([0, 0]);
  });
});

describe('server-sent events', () => {
  it('reads events split across chunks, with ids, names, comments and retry', () => {
    const parser = new SseParser();
    expect(parser.feed('retry: 2000\n\nid: 7\ndata: {"a"')).toEqual([]);
    expect(parser.feed(':1}\n\n: keep-alive\n\nevent: end\ndata: {}\n\n')).toEqual([
      { event: 'message', data: '{"a":1}', id: '7' },
      { event: 'end', data: '{}', id: null }
    ]);
    expect(parser.retry).toBe(2000);
  });
});
