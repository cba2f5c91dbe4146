// The chain checkpoint: what a node derives from the whole chain (the chain state, the membership
// history, the node's own indexes), saved at a stored height so that a restart replays only the blocks
// after it. Without it every start read and re-checked every stored block: ~7 µs per transaction on the
// development VM, so minutes per hundred million transactions, during which a network of three, whose
// quorum needs every gateway, commits nothing.
//
// Derived data, like the transaction index's runs: a checkpoint that does not check out (a bad CRC, an
// unknown format, a height above the stored head, another block at its height) is ignored and the chain
// is replayed from genesis, so losing or damaging the file costs time, never state. It is trusted as much
// as the block store beside it (this node wrote both); `entente verify` still checks the chain from genesis.
//
// The body is node:v8's structured-clone serialization, whose format a later Node reads; a file an older
// Node cannot read is ignored like a damaged one. Layout (FORMAT.md): magic, format version, body length,
// CRC-32 of the body, body.
import { open, rename, unlink } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as v8 from 'node:v8';
import { crc32 } from './crc32.ts';
import { syncDirectory } from './sync-directory.ts';

export const CHECKPOINT_FILE = 'chain-checkpoint.bin';
const MAGIC = 'ENTECKPT';
const FORMAT_VERSION = 1;
const HEADER_BYTES = 8 + 4 + 4 + 4;
/** A checkpoint holds the node's bounded indexes only (tens of MB at most); anything larger is not one. */
export const CHECKPOINT_BYTES_MAX = 512 * 1024 * 1024;

/** What the file holds: the stored height it describes, that block's hash, and opaque state for each layer. */
export interface ChainCheckpoint {
  readonly height: number;
  readonly headHash: Uint8Array;
  /** The chain's own state (LedgerChain.checkpoint). */
  readonly chain: unknown;
  /** The node's indexes built from the same blocks (LedgerNode). */
  readonly node: unknown;
}

export type CheckpointRead = { readonly ok: true; readonly checkpoint: ChainCheckpoint } | { readonly ok: false; readonly reason: string };

export function encodeCheckpoint(checkpoint: ChainCheckpoint): Uint8Array {
  const body = v8.serialize(checkpoint);
  const out = new Uint8Array(HEADER_BYTES + body.length);
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode(MAGIC), 0);
  view.setUint32(8, FORMAT_VERSION);
  view.setUint32(12, body.length);
  view.setUint32(16, crc32(body));
  out.set(body, HEADER_BYTES);
  return out;
}

export function decodeCheckpoint(bytes: Uint8Array): CheckpointRead {
  if (bytes.length < HEADER_BYTES || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) return { ok: false, reason: 'not a chain checkpoint (bad magic)' };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8);
  if (version !== FORMAT_VERSION) return { ok: false, reason: `format version ${version}, this node reads ${FORMAT_VERSION}` };
  const length = view.getUint32(12);
  if (length !== bytes.length - HEADER_BYTES) return { ok: false, reason: `${bytes.length - HEADER_BYTES} body bytes, the header says ${length} (a torn write)` };
  const body = bytes.subarray(HEADER_BYTES);
  if (crc32(body) !== view.getUint32(16)) return { ok: false, reason: 'its CRC does not match (damaged)' };
  let value: unknown;
  try {
    value = v8.deserialize(body);
  } catch (error) {
    return { ok: false, reason: `its body cannot be read by this Node (${(error as Error).message})` };
  }
  const checkpoint = value as Partial<ChainCheckpoint> | null;
  if (checkpoint === null || typeof checkpoint !== 'object' || !Number.isSafeInteger(checkpoint.height) || checkpoint.height! < 1 || !(checkpoint.headHash instanceof Uint8Array)) {
    return { ok: false, reason: 'its body is not a checkpoint' };
  }
  return { ok: true, checkpoint: checkpoint as ChainCheckpoint };
}

/** The checkpoint in `directory` (or another file of the same layout), if there is one; a file that cannot be used says why. */
export function readCheckpointFile(directory: string, file = CHECKPOINT_FILE): CheckpointRead | null {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(join(directory, file));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return { ok: false, reason: `it cannot be read (${(error as Error).message})` };
  }
  if (bytes.length > CHECKPOINT_BYTES_MAX) return { ok: false, reason: `${bytes.length} bytes, more than a checkpoint holds` };
  return decodeCheckpoint(bytes);
}

/**
 * Replaces the checkpoint durably: written under a temporary name, synced, renamed over the old one and the
 * folder synced. A crash leaves the old checkpoint or the new one, never a mix (and a stray temporary file,
 * overwritten by the next write).
 */
export async function writeCheckpointFile(directory: string, checkpoint: ChainCheckpoint, file = CHECKPOINT_FILE): Promise<number> {
  const bytes = encodeCheckpoint(checkpoint);
  const path = join(directory, file);
  const temporary = `${path}.tmp`;
  const handle = await open(temporary, 'w');
  try {
    await handle.writeFile(bytes);
    await handle.datasync();
  } catch (error) {
    await handle.close();
    await unlink(temporary).catch(() => {});
    throw error;
  }
  await handle.close();
  await rename(temporary, path);
  await syncDirectory(directory);
  return bytes.length;
}
