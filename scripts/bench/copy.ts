import { Client, Query } from 'pg';

/**
 * `COPY … FROM STDIN` with the `pg` driver alone (pg-copy-streams is not installed): pg's
 * Query refuses the server's CopyInResponse ("No source stream defined"); this one answers it
 * with the prepared data and CopyDone, and resolves on CommandComplete like any query.
 */
class CopyIn extends Query {
  constructor(
    text: string,
    private readonly data: Buffer,
    done: (err: Error | undefined) => void,
  ) {
    super(text, (err) => done(err));
  }

  handleCopyInResponse(connection: { sendCopyFromChunk(b: Buffer): void; endCopyFrom(): void }): void {
    connection.sendCopyFromChunk(this.data);
    connection.endCopyFrom();
  }
}

/** Runs `COPY table (columns) FROM STDIN` (text format) with `data`, rows already encoded (copyRow). */
export function copyIn(client: Client, table: string, columns: string, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    client.query(new CopyIn(`COPY ${table} (${columns}) FROM STDIN`, data, (err) => (err ? reject(err) : resolve())));
  });
}

/** One field of COPY's text format: backslash, tab, newline and carriage return escaped. */
const field = (v: string) => (/[\\\t\n\r]/.test(v) ? v.replace(/[\\\t\n\r]/g, (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[c]!) : v);

/** One line of COPY's text format. */
export const copyRow = (values: (string | number)[]): string => `${values.map((v) => field(String(v))).join('\t')}\n`;
