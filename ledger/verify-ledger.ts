// `entente verify` as an API: recompute and check a stored ledger from its genesis, without trusting the
// index or anything cached — read every record of the segment in order, decode it, and apply every
// validity rule. Stops at the first problem and names the block, the transaction (when there is one) and
// the rule. A torn tail (an append a crash interrupted, which the node drops on its next start) is also
// reported: verify cannot tell it from a damaged last block.
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { isEntenteError } from '../common/errors.ts';
import { decodeBlock } from './block.ts';
import { ed25519Verifier } from './crypto/ed25519.ts';
import type { Hasher } from './crypto/hasher.ts';
import { nodeHasher } from './crypto/sha256-node.ts';
import type { SignatureVerifier } from './crypto/signature.ts';
import { toHex } from './encoding/hex.ts';
import { GENESIS_FILE, genesisHash, readGenesisFile, type OwnershipMap } from './genesis.ts';
import { resolveLedgerDirectory } from './ledger-directory.ts';
import { SEGMENT_FILE, scanFrames } from './store/segment-file.ts';
import { checkBlock, genesisState, type Violation } from './validity.ts';

export interface VerifyOptions {
  /** entityType → partner; defaults to the genesis ownership map. */
  readonly ownership?: OwnershipMap;
  readonly hasher?: Hasher;
  readonly verifier?: SignatureVerifier;
  /** Called after every verified block (progress output). */
  readonly onBlock?: (height: number, transactions: number) => void;
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly directory: string;
  readonly network: string;
  readonly genesisHash: string;
  /** Height of the last block that passed every rule. */
  readonly height: number;
  readonly headHash: string;
  readonly blocks: number;
  readonly transactions: number;
  readonly payloads: number;
  readonly signatures: number;
  readonly bytes: number;
  readonly durationMs: number;
  readonly violation?: Violation;
}

export async function verifyLedger(dataDirectory: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const started = performance.now();
  const directory = resolveLedgerDirectory(dataDirectory);
  const hasher = options.hasher ?? nodeHasher;
  const context = { hasher, verifier: options.verifier ?? ed25519Verifier };
  const genesis = await readGenesisFile(join(directory, GENESIS_FILE));
  let state = genesisState(hasher, genesis, options.ownership);
  const totals = { blocks: 0, transactions: 0, payloads: 0, signatures: 0, bytes: 0 };
  let violation: Violation | undefined;
  const segment = await open(join(directory, SEGMENT_FILE), 'r').catch(() => null);
  if (segment !== null) {
    try {
      const size = (await segment.stat()).size;
      for await (const scan of scanFrames(segment, 0, size, 1)) {
        if (scan.kind === 'invalid') {
          violation = { height: scan.height, rule: 'record-checksum', message: `the record at byte ${scan.offset} is damaged (${scan.reason}): tampering or media damage — or, if it is the last record, an append a crash interrupted, which the node drops when it next starts` };
          break;
        }
        let block;
        try {
          block = decodeBlock(scan.body);
        } catch (error) {
          if (!isEntenteError(error)) throw error;
          violation = { height: scan.height, rule: 'encoding', message: error.message };
          break;
        }
        if (block.header.height !== scan.height) {
          violation = { height: scan.height, rule: 'height', message: `the record for height ${scan.height} holds a header for height ${block.header.height}` };
          break;
        }
        const result = checkBlock(context, state, block);
        if (!result.ok) {
          violation = result.violation;
          break;
        }
        state = result.state;
        totals.blocks += 1;
        totals.transactions += block.transactionBytes.length;
        totals.payloads += block.payloads.length;
        totals.signatures += block.certificate.signatures.length + block.batches.length;
        totals.bytes += scan.frameBytes;
        options.onBlock?.(scan.height, block.transactionBytes.length);
      }
    } finally {
      await segment.close();
    }
  }
  return {
    ok: violation === undefined,
    directory,
    network: genesis.network,
    genesisHash: toHex(genesisHash(hasher, genesis)),
    height: state.height,
    headHash: toHex(state.headHash),
    ...totals,
    durationMs: performance.now() - started,
    ...(violation === undefined ? {} : { violation }),
  };
}
