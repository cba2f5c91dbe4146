// Decoding the messages of PostgreSQL's built-in logical decoding plugin, pgoutput (protocol version 1,
// with logical messages), as documented in "Logical Replication Message Formats". Values stay in the
// text form the server sends: the connector's column codecs turn text into canonical values exactly as
// they do for query results, so a change captured this way equals one captured by the triggers.
// (pg-logical-replication's parser runs every value through pg's global type parsers, which turn a
// timestamptz into a Date and drop its microseconds; that is why this one exists.)
import { assert } from '../../common/assert.ts';

/** A log sequence number: a byte position in the server's write-ahead log. */
export type Lsn = bigint;

export interface RelationColumn {
  readonly name: string;
  readonly typeOid: number;
  /** Part of the replica identity (the key pgoutput sends for updates and deletes). */
  readonly isKey: boolean;
}

/** Text of each column; `undefined` marks an unchanged TOASTed value the server did not resend. */
export type TupleText = readonly (string | null | undefined)[];

export type PgoutputMessage =
  | { readonly tag: 'begin'; readonly finalLsn: Lsn; readonly commitTimeMicros: bigint; readonly xid: number }
  | { readonly tag: 'commit'; readonly commitLsn: Lsn; readonly endLsn: Lsn; readonly commitTimeMicros: bigint }
  | { readonly tag: 'relation'; readonly relationId: number; readonly schema: string; readonly name: string; readonly replicaIdentity: string; readonly columns: readonly RelationColumn[] }
  | { readonly tag: 'insert'; readonly relationId: number; readonly newTuple: TupleText }
  /** `oldTuple`: the whole old row (REPLICA IDENTITY FULL) or only its key ('K'), absent when the key did not change. */
  | { readonly tag: 'update'; readonly relationId: number; readonly oldTuple: TupleText | null; readonly oldIsKeyOnly: boolean; readonly newTuple: TupleText }
  | { readonly tag: 'delete'; readonly relationId: number; readonly oldTuple: TupleText; readonly oldIsKeyOnly: boolean }
  | { readonly tag: 'message'; readonly transactional: boolean; readonly lsn: Lsn; readonly prefix: string; readonly content: Buffer }
  | { readonly tag: 'truncate'; readonly relationIds: readonly number[] }
  /** Origin and Type messages: nothing capture needs. */
  | { readonly tag: 'other'; readonly code: string };

/** Milliseconds between the Unix epoch and PostgreSQL's (2000-01-01T00:00:00Z). */
const postgresEpochMs = 946_684_800_000;

/** The text of the last second formatted: commits come thousands a second, toISOString cost ~2-5 µs each. */
let cachedSecond = Number.NaN;
let cachedSecondText = '';

/** To milliseconds (a Date's precision), in floating point: exact enough, and no BigInt division per commit. */
export function postgresTimeToIso(micros: bigint): string {
  const ms = Math.floor(Number(micros) / 1000) + postgresEpochMs;
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedSecondText = new Date(second * 1000).toISOString().slice(0, 19);
  }
  return `${cachedSecondText}.${String(ms - second * 1000).padStart(3, '0')}Z`;
}

export function lsnToText(lsn: Lsn): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

export function lsnFromText(text: string): Lsn {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text);
  assert(match !== null, `not an LSN: ${text}`);
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

class Reader {
  private at = 0;
  private readonly buffer: Buffer;
  constructor(buffer: Buffer) {
    this.buffer = buffer;
  }

  byte(): number {
    this.need(1);
    return this.buffer.readUInt8(this.at++);
  }
  int16(): number {
    this.need(2);
    const value = this.buffer.readInt16BE(this.at);
    this.at += 2;
    return value;
  }
  int32(): number {
    this.need(4);
    const value = this.buffer.readInt32BE(this.at);
    this.at += 4;
    return value;
  }
  uint32(): number {
    this.need(4);
    const value = this.buffer.readUInt32BE(this.at);
    this.at += 4;
    return value;
  }
  int64(): bigint {
    this.need(8);
    const value = this.buffer.readBigInt64BE(this.at);
    this.at += 8;
    return value;
  }
  uint64(): bigint {
    this.need(8);
    const value = this.buffer.readBigUInt64BE(this.at);
    this.at += 8;
    return value;
  }
  /** A NUL-terminated string. */
  cstring(): string {
    const end = this.buffer.indexOf(0, this.at);
    assert(end >= 0, 'pgoutput: unterminated string');
    const text = this.buffer.toString('utf8', this.at, end);
    this.at = end + 1;
    return text;
  }
  /** `length` bytes as UTF-8 text, without an intermediate Buffer view. */
  text(length: number): string {
    this.need(length);
    const text = this.buffer.toString('utf8', this.at, this.at + length);
    this.at += length;
    return text;
  }
  bytes(length: number): Buffer {
    this.need(length);
    const slice = this.buffer.subarray(this.at, this.at + length);
    this.at += length;
    return slice;
  }
  private need(length: number): void {
    // Checked before the message is built: a template literal argument would be formatted on every read.
    if (length < 0 || this.at + length > this.buffer.length) {
      assert(false, `pgoutput: message truncated at byte ${this.at} (needs ${length} more of ${this.buffer.length})`);
    }
  }
}

function tuple(reader: Reader): TupleText {
  const count = reader.int16();
  const values: (string | null | undefined)[] = new Array(count);
  for (let index = 0; index < count; index += 1) {
    const kind = reader.byte();
    if (kind === 0x6e /* n */) values[index] = null;
    else if (kind === 0x75 /* u */) values[index] = undefined;
    else if (kind === 0x74 /* t */) values[index] = reader.text(reader.int32());
    // 'b' (binary) is sent only when the subscriber asks for binary = true, which this reader never does.
    else assert(false, `pgoutput: unexpected tuple value kind ${String.fromCharCode(kind)}`);
  }
  return values;
}

/** One pgoutput message (the payload of an XLogData frame). */
export function decodePgoutput(message: Buffer): PgoutputMessage {
  const reader = new Reader(message);
  const code = String.fromCharCode(reader.byte());
  switch (code) {
    case 'B':
      return { tag: 'begin', finalLsn: reader.uint64(), commitTimeMicros: reader.int64(), xid: reader.uint32() };
    case 'C': {
      reader.byte(); // flags, currently unused
      return { tag: 'commit', commitLsn: reader.uint64(), endLsn: reader.uint64(), commitTimeMicros: reader.int64() };
    }
    case 'R': {
      const relationId = reader.uint32();
      const schema = reader.cstring();
      const name = reader.cstring();
      const replicaIdentity = String.fromCharCode(reader.byte());
      const count = reader.int16();
      const columns: RelationColumn[] = [];
      for (let index = 0; index < count; index += 1) {
        const flags = reader.byte();
        const columnName = reader.cstring();
        const typeOid = reader.uint32();
        reader.int32(); // type modifier
        columns.push({ name: columnName, typeOid, isKey: (flags & 1) === 1 });
      }
      // pgoutput names pg_catalog with an empty string; user tables always carry their schema.
      return { tag: 'relation', relationId, schema: schema === '' ? 'pg_catalog' : schema, name, replicaIdentity, columns };
    }
    case 'I': {
      const relationId = reader.uint32();
      const kind = reader.byte();
      if (kind !== 0x4e /* N */) assert(false, `pgoutput: insert without a new tuple (${String.fromCharCode(kind)})`);
      return { tag: 'insert', relationId, newTuple: tuple(reader) };
    }
    case 'U': {
      const relationId = reader.uint32();
      let kind = String.fromCharCode(reader.byte());
      let oldTuple: TupleText | null = null;
      const oldIsKeyOnly = kind === 'K';
      if (kind === 'K' || kind === 'O') {
        oldTuple = tuple(reader);
        kind = String.fromCharCode(reader.byte());
      }
      if (kind !== 'N') assert(false, `pgoutput: update without a new tuple (${kind})`);
      return { tag: 'update', relationId, oldTuple, oldIsKeyOnly, newTuple: tuple(reader) };
    }
    case 'D': {
      const relationId = reader.uint32();
      const kind = String.fromCharCode(reader.byte());
      if (kind !== 'K' && kind !== 'O') assert(false, `pgoutput: delete without an old tuple (${kind})`);
      return { tag: 'delete', relationId, oldTuple: tuple(reader), oldIsKeyOnly: kind === 'K' };
    }
    case 'M': {
      const transactional = (reader.byte() & 1) === 1;
      const lsn = reader.uint64();
      const prefix = reader.cstring();
      const content = reader.bytes(reader.int32());
      return { tag: 'message', transactional, lsn, prefix, content };
    }
    case 'T': {
      const count = reader.int32();
      reader.byte(); // options: CASCADE, RESTART IDENTITY
      const relationIds: number[] = [];
      for (let index = 0; index < count; index += 1) relationIds.push(reader.uint32());
      return { tag: 'truncate', relationIds };
    }
    default:
      return { tag: 'other', code };
  }
}
