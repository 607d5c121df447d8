/**
 * An incremental reader of the server-sent-events format, for a stream read with `fetch`.
 *
 * `EventSource` is not used: it cannot send JupyterLab's authorization header, it cannot be told
 * where to resume after its own reconnect gives up, and it reports no status or message on a
 * refusal. Reading the body ourselves keeps all three in our hands.
 */

export interface ISseEvent {
  /** The `event:` field; `message` when the server sent none. */
  event: string;
  data: string;
  /** The `id:` field, `null` when the event carried none. */
  id: string | null;
}

export class SseParser {
  /** The last `retry:` the server asked for, in milliseconds, or `null`. */
  retry: number | null = null;

  /** Feed a decoded chunk; gives the events it completed (an event ends at a blank line). */
  feed(chunk: string): ISseEvent[] {
    this._pending += chunk;
    const events: ISseEvent[] = [];
    let newline: number;
    while ((newline = this._pending.indexOf('\n')) >= 0) {
      let line = this._pending.slice(0, newline);
      this._pending = this._pending.slice(newline + 1);
      if (line.endsWith('\r')) {
        line = line.slice(0, -1);
      }
      if (line === '') {
        if (this._data !== null) {
          events.push({ event: this._event || 'message', data: this._data, id: this._id });
        }
        this._data = null;
        this._event = '';
        this._id = null;
        continue;
      }
      if (line.startsWith(':')) {
        continue; // a comment: the server's keep-alive
      }
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) {
        value = value.slice(1);
      }
      switch (field) {
        case 'data':
          this._data = this._data === null ? value : `${this._data}\n${value}`;
          break;
        case 'event':
          this._event = value;
          break;
        case 'id':
          this._id = value;
          break;
        case 'retry':
          if (/^\d+$/.test(value)) {
            this.retry = Number(value);
          }
          break;
      }
    }
    return events;
  }

  private _pending = '';
  private _data: string | null = null;
  private _event = '';
  private _id: string | null = null;
}
