// The node runner's chain: a compact block of opaque transactions, its validity rules, and a crash-safe
// append-only file store (each record framed with length + CRC32 and fdatasync'ed before the host may
// go on; a torn tail left by a kill is cut off when the file is opened). With `deferSync` the record is
// only written by commitBlock and the caller makes it durable with `sync()` (one fdatasync for all blocks
// written since, off the event loop) before acknowledging it or persisting anything that builds on it:
// node-runner.ts does so through DurableWrites. The host reaches it only
// through HostChain, so the gateway can swap in the ledger core's full block format and SegmentBlockStore
// (ledger/block.ts, ledger/store) behind the same seam.
//
// Block (v1): u64 height | 32-byte parent id | u16 proposer | u64 time (ms) | u32 tx count | per tx u32 length + bytes.
// Block id: SHA-256("entente/consensus" 0x00 v1 | u8 5 | block bytes). Transaction id: SHA-256 of its bytes.
import { closeSync, fdatasync, fdatasyncSync, fstatSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { EntenteError } from '../../common/errors.ts';
import type { ValueId } from '../consensus/types.ts';
import { domainPrefix } from '../crypto/domain.ts';
import type { Hasher } from '../crypto/hasher.ts';
import { ByteReader } from '../encoding/byte-reader.ts';
import { ByteWriter } from '../encoding/byte-writer.ts';
import { fromHex, toHex } from '../encoding/hex.ts';
import { createMembership, type Membership } from '../membership.ts';
import { crc32 } from '../store/crc32.ts';
import type { CommitCertificate } from '../sync/commit-certificate.ts';
import { encodePayload, decodePayload } from '../transport/peer-frames.ts';
import type { HostChain } from './consensus-host.ts';
import { parseCertificate } from './consensus-wire.ts';
import { TransactionIdIndex } from '../store/transaction-id-index.ts';

export const BLOCK_TXS_MAX = 4096;
/** A membership change committed at height h takes effect at h + MEMBERSHIP_CHANGE_DELAY: the next height's voters are always known. */
export const MEMBERSHIP_CHANGE_DELAY = 2;
const MEMBERSHIP_TX_PREFIX = new TextEncoder().encode('entente/membership-change\u0000');
export const BLOCK_BYTES_MAX = 6 * 1024 * 1024;
export const TX_BYTES_MAX = 64 * 1024;
const KIND_RUNNER_BLOCK = 5;
const BLOCKS_FILE = 'blocks.log';

export interface RunnerBlock {
  readonly height: number;
  readonly parent: ValueId;
  readonly proposer: number;
  readonly timeMs: number;
  readonly txs: readonly Uint8Array[];
}

export function encodeRunnerBlock(block: RunnerBlock): Uint8Array {
  let size = 64;
  for (const tx of block.txs) size += 4 + tx.length;
  const writer = new ByteWriter(size).u64(block.height).fixed(fromHex(block.parent), 32, 'parent id').u16(block.proposer).u64(block.timeMs).u32(block.txs.length);
  for (const tx of block.txs) writer.bytes(tx);
  return writer.finish();
}

export function decodeRunnerBlock(bytes: Uint8Array): RunnerBlock | null {
  if (bytes.length > BLOCK_BYTES_MAX + 64 + 4 * BLOCK_TXS_MAX) return null;
  try {
    const reader = new ByteReader(bytes, 'block');
    const height = reader.u64('height');
    const parent = toHex(reader.fixed(32, 'parent'));
    const proposer = reader.u16('proposer');
    const timeMs = reader.u64('time');
    const count = reader.u32('tx count');
    if (count > BLOCK_TXS_MAX) return null;
    const txs: Uint8Array[] = [];
    for (let i = 0; i < count; i++) txs.push(reader.bytesField('tx', TX_BYTES_MAX).slice());
    reader.expectEnd();
    return { height, parent, proposer, timeMs, txs };
  } catch {
    return null;
  }
}

export class RunnerChain implements HostChain<RunnerBlock> {
  private readonly hasher: Hasher;
  private readonly genesisId: ValueId;
  private readonly membership: Membership;
  /** Membership from a height on, oldest first; the genesis membership from height 1. */
  private readonly memberships: { readonly from: number; readonly membership: Membership }[] = [];
  private readonly fd: number;
  private fileBytes = 0;
  private readonly heads: ValueId[] = [];
  /** Byte offset and length of each stored record, to serve sync without keeping blocks in memory. */
  private readonly locations: { offset: number; length: number }[] = [];
  readonly committedTxs = new TransactionIdIndex();
  /** Transactions in all stored blocks, duplicates included (equal to committedTxs.size on a sound chain). */
  totalTxs = 0;
  private readonly blockIds = new WeakMap<RunnerBlock, ValueId>();
  private readonly txIdLists = new WeakMap<RunnerBlock, readonly string[]>();
  /** Encoded bytes per block object (encoding a 4,096-transaction block is a 4 MB copy). */
  private readonly encoded = new WeakMap<RunnerBlock, Uint8Array>();
  /** Blocks this node assembled itself from its mempool, by the bytes handed to the host (see `adopt`). */
  private readonly assembled = new WeakMap<Uint8Array, RunnerBlock>();
  private readonly deferSync: boolean;
  /** Blocks written but not yet covered by an fdatasync (only with deferSync). */
  unsynced = false;

  constructor(options: { readonly dataDirectory: string; readonly hasher: Hasher; readonly genesisId: ValueId; readonly membership: Membership; readonly deferSync?: boolean }) {
    this.hasher = options.hasher;
    this.deferSync = options.deferSync ?? false;
    this.genesisId = options.genesisId;
    this.membership = options.membership;
    this.memberships.push({ from: 1, membership: options.membership });
    this.fd = openSync(join(options.dataDirectory, BLOCKS_FILE), 'a+');
    this.load();
  }

  close(): void {
    closeSync(this.fd);
  }

  headHeight(): number {
    return this.heads.length;
  }

  headId(): ValueId {
    return this.heads.at(-1) ?? this.genesisId;
  }

  blockId(block: RunnerBlock): ValueId {
    const known = this.blockIds.get(block);
    if (known !== undefined) return known;
    const id = this.idOfBytes(this.encodeBlock(block));
    this.blockIds.set(block, id);
    return id;
  }

  /**
   * A block this node built from transactions whose ids it computed itself (its mempool): remembers the
   * ids so they are not hashed again, and returns the block's bytes; `decodeBlock` of exactly these bytes
   * returns this block without parsing. Nothing from a peer is trusted here: the ids are this node's own.
   */
  adopt(block: RunnerBlock, txIds: readonly string[]): Uint8Array {
    this.txIdLists.set(block, txIds);
    const bytes = this.encodeBlock(block);
    this.assembled.set(bytes, block);
    return bytes;
  }

  txId(tx: Uint8Array): string {
    return hexOf(this.hasher.sha256(tx));
  }

  /** The ids of a block's transactions, hashed once per block object. */
  txIdsOf(block: RunnerBlock): readonly string[] {
    const known = this.txIdLists.get(block);
    if (known !== undefined) return known;
    const ids = block.txs.map((tx) => this.txId(tx));
    this.txIdLists.set(block, ids);
    return ids;
  }

  encodeBlock(block: RunnerBlock): Uint8Array {
    const known = this.encoded.get(block);
    if (known !== undefined) return known;
    const bytes = encodeRunnerBlock(block);
    this.encoded.set(block, bytes);
    return bytes;
  }

  decodeBlock(bytes: Uint8Array): RunnerBlock | null {
    const block = this.assembled.get(bytes) ?? decodeRunnerBlock(bytes);
    if (block === null) return null;
    if (!this.blockIds.has(block)) this.blockIds.set(block, this.idOfBytes(bytes));
    this.encoded.set(block, bytes);
    return block;
  }

  isValidBlock(block: RunnerBlock, height: number, parentId: ValueId): boolean {
    if (block.height !== height || block.parent !== parentId || block.txs.length > BLOCK_TXS_MAX) return false;
    if (block.proposer >= this.membershipAt(height).nodes.length) return false;
    let pending = this.latestMembership();
    let bytes = 0;
    const seen = new Set<string>();
    const ids = this.txIdsOf(block);
    for (let i = 0; i < block.txs.length; i++) {
      const tx = block.txs[i]!;
      const id = ids[i]!;
      bytes += tx.length;
      if (tx.length === 0 || tx.length > TX_BYTES_MAX || seen.has(id) || this.committedTxs.has(id)) return false;
      seen.add(id);
      if (isMembershipChange(tx)) {
        const next = applyMembershipChange(pending, tx);
        if (next === null) return false;
        pending = next;
      }
    }
    return bytes <= BLOCK_BYTES_MAX;
  }

  commitBlock(height: number, block: RunnerBlock, certificate: CommitCertificate): void {
    if (height !== this.heads.length + 1) throw new EntenteError('LEDGER_INVALID', `block ${height} does not follow the stored head ${this.heads.length}`);
    // Record: u32 body length | u32 CRC32(body) | body, body = u32 length + block | u32 length + certificate.
    // Written from its parts (no copy of a multi-megabyte block into one buffer).
    const blockBytes = this.encodeBlock(block);
    const certificateBytes = encodePayload(certificate);
    const bodyLength = 8 + blockBytes.length + certificateBytes.length;
    const blockLength = new ByteWriter(4).u32(blockBytes.length).finish();
    const certificateLength = new ByteWriter(4).u32(certificateBytes.length).finish();
    let checksum = crc32(blockLength);
    checksum = crc32(blockBytes, checksum);
    checksum = crc32(certificateLength, checksum);
    checksum = crc32(certificateBytes, checksum);
    const header = new ByteWriter(8).u32(bodyLength).u32(checksum).finish();
    let position = this.fileBytes;
    for (const part of [header, blockLength, blockBytes, certificateLength, certificateBytes]) {
      for (let written = 0; written < part.length;) {
        written += writeSync(this.fd, part, written, part.length - written, position + written);
      }
      position += part.length;
    }
    if (this.deferSync) this.unsynced = true;
    else fdatasyncSync(this.fd);
    this.locations.push({ offset: this.fileBytes + 8, length: bodyLength });
    this.fileBytes += 8 + bodyLength;
    this.remember(height, block, this.blockId(block));
  }

  /** Makes every block written so far durable (one fdatasync on the thread pool). */
  sync(): Promise<void> {
    if (!this.unsynced) return Promise.resolve();
    this.unsynced = false; // blocks written while the sync runs need the next one
    return new Promise((resolve, reject) => fdatasync(this.fd, (error) => (error === null ? resolve() : reject(error))));
  }

  storedBlock(height: number): { readonly block: RunnerBlock; readonly certificate: CommitCertificate } | null {
    const location = this.locations[height - 1];
    if (location === undefined) return null;
    const body = new Uint8Array(location.length);
    readSync(this.fd, body, 0, location.length, location.offset);
    // Serving sync: the id is the stored head's, so the block is not hashed again (load() checked the chain).
    return this.parseRecord(body, this.heads[height - 1]);
  }

  membershipAt(height: number): Membership {
    let found = this.membership;
    for (const entry of this.memberships) if (entry.from <= height) found = entry.membership;
    return found;
  }

  /** The newest membership known, including changes not yet in effect (who may connect). */
  latestMembership(): Membership {
    return this.memberships.at(-1)!.membership;
  }

  private idOfBytes(bytes: Uint8Array): ValueId {
    return hexOf(this.hasher.sha256Parts([domainPrefix('consensusMessage'), Uint8Array.of(KIND_RUNNER_BLOCK), bytes]));
  }

  private remember(height: number, block: RunnerBlock, id: ValueId): void {
    this.heads.push(id);
    this.totalTxs += block.txs.length;
    const ids = this.txIdsOf(block);
    for (let i = 0; i < block.txs.length; i++) {
      const tx = block.txs[i]!;
      this.committedTxs.set(ids[i]!, height);
      if (!isMembershipChange(tx)) continue;
      const next = applyMembershipChange(this.latestMembership(), tx);
      if (next !== null) this.memberships.push({ from: height + MEMBERSHIP_CHANGE_DELAY, membership: next });
    }
  }

  private parseRecord(body: Uint8Array, knownId?: ValueId): { block: RunnerBlock; certificate: CommitCertificate } | null {
    try {
      const reader = new ByteReader(body, 'block record');
      const blockBytes = reader.bytesField('block', body.length);
      const certificate = parseCertificate(decodePayload(reader.bytesField('certificate', body.length)));
      const bytes = blockBytes.slice();
      const block = knownId === undefined ? this.decodeBlock(bytes) : decodeRunnerBlock(bytes);
      if (block !== null && knownId !== undefined) {
        this.blockIds.set(block, knownId);
        this.encoded.set(block, bytes);
      }
      return block === null || certificate === null ? null : { block, certificate };
    } catch {
      return null;
    }
  }

  /** Reads every whole record; a torn or corrupt tail (an append cut by a crash) is truncated away. */
  private load(): void {
    const size = fstatSync(this.fd).size;
    let offset = 0;
    const header = new Uint8Array(8);
    while (offset + 8 <= size) {
      readSync(this.fd, header, 0, 8, offset);
      const view = new DataView(header.buffer);
      const length = view.getUint32(0);
      const checksum = view.getUint32(4);
      if (offset + 8 + length > size) break;
      const body = new Uint8Array(length);
      readSync(this.fd, body, 0, length, offset + 8);
      if (crc32(body) !== checksum) break;
      const record = this.parseRecord(body);
      if (record === null || record.block.height !== this.heads.length + 1 || record.block.parent !== this.headId()) break;
      this.locations.push({ offset: offset + 8, length });
      this.remember(record.block.height, record.block, this.blockId(record.block));
      offset += 8 + length;
    }
    if (offset < size) ftruncateSync(this.fd, offset);
    this.fileBytes = offset;
  }
}

/** Lowercase hex as one flat string from native code (ids are Map keys, hashed and compared per transaction). */
function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/**
 * A membership change: the prefix, then JSON {"add": {"partner", "publicKey"}}. The new node gets the next
 * index. (Who may add members is governance, decided by the ledger core's validity rules once the gateway
 * plugs its block format in; the runner accepts any well-formed change.)
 */
export function membershipChangeTx(partner: string, publicKey: Uint8Array): Uint8Array {
  const body = new TextEncoder().encode(JSON.stringify({ add: { partner, publicKey: toHex(publicKey) } }));
  const out = new Uint8Array(MEMBERSHIP_TX_PREFIX.length + body.length);
  out.set(MEMBERSHIP_TX_PREFIX, 0);
  out.set(body, MEMBERSHIP_TX_PREFIX.length);
  return out;
}

export function isMembershipChange(tx: Uint8Array): boolean {
  if (tx.length < MEMBERSHIP_TX_PREFIX.length) return false;
  for (let i = 0; i < MEMBERSHIP_TX_PREFIX.length; i++) if (tx[i] !== MEMBERSHIP_TX_PREFIX[i]) return false;
  return true;
}

function applyMembershipChange(current: Membership, tx: Uint8Array): Membership | null {
  try {
    const value = JSON.parse(new TextDecoder().decode(tx.subarray(MEMBERSHIP_TX_PREFIX.length))) as { add?: { partner?: unknown; publicKey?: unknown } };
    const partner = value.add?.partner;
    const publicKey = typeof value.add?.publicKey === 'string' ? fromHex(value.add.publicKey) : null;
    if (typeof partner !== 'string' || publicKey === null) return null;
    return createMembership([...current.nodes.map((n) => ({ partner: n.partner, publicKey: n.publicKey })), { partner, publicKey }]);
  } catch {
    return null;
  }
}
