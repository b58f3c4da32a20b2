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

/** Runs `COPY table (columns) FROM STDIN` with `data`: text format (rows of copyRow) or binary (binaryCopy). */
export function copyIn(client: Client, table: string, columns: string, data: Buffer, format: 'text' | 'binary' = 'text'): Promise<void> {
  const options = format === 'binary' ? ' WITH (FORMAT binary)' : '';
  return new Promise((resolve, reject) => {
    client.query(new CopyIn(`COPY ${table} (${columns}) FROM STDIN${options}`, data, (err) => (err ? reject(err) : resolve())));
  });
}

/** One field of COPY's text format: backslash, tab, newline and carriage return escaped. */
const field = (v: string) => (/[\\\t\n\r]/.test(v) ? v.replace(/[\\\t\n\r]/g, (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[c]!) : v);

/** One line of COPY's text format. */
export const copyRow = (values: (string | number)[]): string => `${values.map((v) => field(String(v))).join('\t')}\n`;

/** A field of COPY's binary format: bigint, text, timestamptz (epoch ms), or jsonb (its text). */
export type BinaryField = { bigint: number } | { text: string } | { timestamptz: number } | { jsonb: string };

const PG_EPOCH_MS = Date.UTC(2000, 0, 1);

/** Rows in COPY's binary format (header, tuples, trailer). */
export function binaryCopy(rows: BinaryField[][]): Buffer {
  const parts: Buffer[] = [Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)];
  for (const row of rows) {
    const count = Buffer.alloc(2);
    count.writeInt16BE(row.length);
    parts.push(count);
    for (const f of row) {
      let body: Buffer;
      if ('bigint' in f) {
        body = Buffer.alloc(8);
        body.writeBigInt64BE(BigInt(f.bigint));
      } else if ('timestamptz' in f) {
        body = Buffer.alloc(8);
        body.writeBigInt64BE(BigInt(f.timestamptz - PG_EPOCH_MS) * 1000n);
      } else if ('jsonb' in f) {
        body = Buffer.concat([Buffer.from([1]), Buffer.from(f.jsonb)]);
      } else {
        body = Buffer.from(f.text);
      }
      const len = Buffer.alloc(4);
      len.writeInt32BE(body.length);
      parts.push(len, body);
    }
  }
  parts.push(Buffer.from([0xff, 0xff]));
  return Buffer.concat(parts);
}
