// A logical replication connection: START_REPLICATION on a pgoutput slot over node-postgres (a
// `replication=database` connection whose CopyBoth frames arrive as 'copyData' events), standby status
// updates that confirm what the ledger holds, and flow control by pausing the socket. It only moves
// bytes; postgres-logical-capture.ts decides what they mean and when to confirm.
import { Socket, type SocketConstructorOpts } from 'node:net';
import pg from 'pg';
import { lsnToText, type Lsn } from './pgoutput.ts';

export interface ReplicationStreamOptions {
  readonly connectionString: string;
  readonly slot: string;
  readonly publication: string;
  /** The server starts at the later of this and the slot's confirmed position. */
  readonly startLsn: Lsn;
  /** One pgoutput message (an XLogData payload), in WAL order. */
  readonly onMessage: (message: Buffer) => void;
  /** The server's keepalive: everything up to `walEnd` was sent. */
  readonly onKeepalive: (walEnd: Lsn, replyRequested: boolean) => void;
}

/**
 * What a paused socket still reads: a paused stream keeps reading until its buffer holds this much.
 * At the default 16 KiB that was ~90 commits' frames, each read on its own wake-up (measured: one
 * read(2) per commit, 14 µs of system time per change). Not a limit on reading: a flowing socket
 * hands every chunk straight on, whatever its size.
 */
const pausedReadBytesMax = 1;

/** Microseconds between the Unix epoch and PostgreSQL's, for the status update's clock field. */
const postgresEpochMs = 946_684_800_000;

interface CopyDataEvent {
  readonly chunk: Buffer;
}

/** The parts of node-postgres's (untyped) Connection this module uses. */
interface RawConnection {
  on(event: 'copyData', listener: (message: CopyDataEvent) => void): void;
  once(event: 'replicationStart', listener: () => void): void;
  sendCopyFromChunk(chunk: Buffer): void;
  readonly stream: { pause(): void; resume(): void; readonly bytesRead: number };
  /** The TLS settings from the connection string (or PGSSLMODE…): false, true, or tls.connect options. */
  ssl: boolean | Record<string, unknown>;
}

/**
 * Over TLS, node-postgres pauses the TLS socket it wraps around ours, and builds it by handing these
 * settings to tls.connect, which passes highWaterMark on to the socket. Set in place: the key is a
 * non-enumerable property that a copy would lose.
 */
function limitTlsReadAhead(connection: RawConnection): void {
  if (connection.ssl === false) return;
  if (connection.ssl === true) connection.ssl = { highWaterMark: pausedReadBytesMax };
  else connection.ssl['highWaterMark'] = pausedReadBytesMax;
}

export class ReplicationStream {
  /** Resolves when the stream ends: null when closed by us, the error otherwise. Never rejects. */
  readonly ended: Promise<Error | null>;
  private closing = false;
  private readonly client: pg.Client;
  private readonly connection: RawConnection;

  private constructor(client: pg.Client, connection: RawConnection, running: Promise<unknown>) {
    this.client = client;
    this.connection = connection;
    this.ended = running.then(
      () => (this.closing ? null : new Error('the server ended the replication stream')),
      (error: unknown) => (this.closing ? null : error instanceof Error ? error : new Error(String(error))),
    );
  }

  static async start(options: ReplicationStreamOptions): Promise<ReplicationStream> {
    const client = new pg.Client({
      connectionString: options.connectionString,
      replication: 'database',
      application_name: 'entente-capture',
      // net.Socket hands its options to stream.Duplex, which reads readableHighWaterMark; Node's types
      // list only the socket's own options.
      stream: () => new Socket({ readableHighWaterMark: pausedReadBytesMax } as SocketConstructorOpts),
    } as pg.ClientConfig);
    client.on('error', () => undefined); // surfaced through `ended`
    const connection = (client as unknown as { connection: RawConnection }).connection;
    limitTlsReadAhead(connection);
    await client.connect();
    connection.on('copyData', ({ chunk }) => {
      const kind = chunk[0];
      if (kind === 0x77 /* w: XLogData */) options.onMessage(chunk.subarray(25));
      else if (kind === 0x6b /* k: keepalive */) options.onKeepalive(chunk.readBigUInt64BE(1), chunk[17] === 1);
    });
    const started = new Promise<void>((resolve) => connection.once('replicationStart', () => resolve()));
    const slot = `"${options.slot.replace(/"/g, '""')}"`;
    const publication = `"${options.publication.replace(/"/g, '""')}"`.replace(/'/g, "''");
    const running = client.query(`START_REPLICATION SLOT ${slot} LOGICAL ${lsnToText(options.startLsn)} (proto_version '1', publication_names '${publication}', messages 'true')`);
    const stream = new ReplicationStream(client, connection, running);
    // Whichever comes first: the server starts streaming, or refuses (slot in use, missing privilege).
    const failed = await Promise.race([started.then(() => null), stream.ended]);
    if (failed !== null) {
      await client.end().catch(() => undefined);
      throw failed;
    }
    return stream;
  }

  /** Standby status update: `received` was read, `confirmed` is safe to forget (the slot may advance). */
  sendStatus(received: Lsn, confirmed: Lsn, replyRequested = false): void {
    if (this.closing) return;
    const frame = Buffer.alloc(34);
    frame[0] = 0x72; // r
    frame.writeBigUInt64BE(received, 1);
    frame.writeBigUInt64BE(confirmed, 9);
    frame.writeBigUInt64BE(confirmed, 17);
    frame.writeBigInt64BE(BigInt(Date.now() - postgresEpochMs) * 1000n, 25);
    frame[33] = replyRequested ? 1 : 0;
    try {
      this.connection.sendCopyFromChunk(frame);
    } catch {
      // A broken socket ends the stream; `ended` reports it.
    }
  }

  /** Bytes read from the server's socket so far (what pausing holds back is not read). */
  get bytesRead(): number {
    return this.connection.stream.bytesRead;
  }

  /** Stop reading from the socket (TCP flow control holds the server back) until `resume`. */
  pause(): void {
    this.connection.stream.pause();
  }

  resume(): void {
    this.connection.stream.resume();
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.connection.stream.resume();
    await this.client.end().catch(() => undefined);
    await this.ended;
  }
}
