// Consensus messages between nodes as plain objects (the transport frames and signs them; see
// ledger/transport). Everything that comes from a peer is untrusted: `parseConsensusWire` checks the
// shape, types and bounds of every field and returns null for anything else, never throwing.
import type { ProposalMessage, VoteMessage } from '../consensus/types.ts';
import type { CommitCertificate } from '../sync/commit-certificate.ts';
import { isValueId } from '../transport/consensus-signing.ts';

/** Largest encoded block a proposal or sync response may carry. */
export const BLOCK_BYTES_MAX = 8 * 1024 * 1024;
export const SYNCED_BLOCKS_MAX = 64;
const SIGNATURE_HEX_LENGTH = 128;
const CERTIFICATE_VOTES_MAX = 1024;

export interface SyncedBlock {
  readonly height: number;
  readonly block: Uint8Array;
  readonly certificate: CommitCertificate;
}

export type ConsensusWire =
  /** `justification`: for a re-proposal (validRound ≥ 0), the prevotes of validRound for the value (proof-of-lock). */
  | { readonly type: 'proposal'; readonly message: ProposalMessage; readonly block: Uint8Array; readonly justification: readonly VoteMessage[] }
  | { readonly type: 'vote'; readonly message: VoteMessage }
  | { readonly type: 'sync-request'; readonly fromHeight: number }
  | { readonly type: 'sync-response'; readonly blocks: readonly SyncedBlock[] };

type Loose = Record<string, unknown>;

export function parseConsensusWire(raw: unknown): ConsensusWire | null {
  if (!isObject(raw)) return null;
  switch (raw['type']) {
    case 'proposal': {
      const message = parseProposal(raw['message']);
      const block = raw['block'];
      const justification = parseVotes(raw['justification'] ?? []);
      if (message === null || !(block instanceof Uint8Array) || block.length > BLOCK_BYTES_MAX || justification === null) return null;
      return { type: 'proposal', message, block, justification };
    }
    case 'vote': {
      const message = parseVote(raw['message']);
      return message === null ? null : { type: 'vote', message };
    }
    case 'sync-request': {
      const fromHeight = raw['fromHeight'];
      return isCount(fromHeight) ? { type: 'sync-request', fromHeight } : null;
    }
    case 'sync-response':
      return parseSyncResponse(raw['blocks']);
    default:
      return null;
  }
}

function parseSyncResponse(raw: unknown): ConsensusWire | null {
  if (!Array.isArray(raw) || raw.length > SYNCED_BLOCKS_MAX) return null;
  const blocks: SyncedBlock[] = [];
  for (const item of raw as unknown[]) {
    if (!isObject(item)) return null;
    const { height, block } = item;
    const certificate = parseCertificate(item['certificate']);
    if (!isCount(height) || !(block instanceof Uint8Array) || block.length > BLOCK_BYTES_MAX || certificate === null) return null;
    blocks.push({ height, block, certificate });
  }
  return { type: 'sync-response', blocks };
}

export function parseCertificate(raw: unknown): CommitCertificate | null {
  if (!isObject(raw)) return null;
  const { height, round, valueId, votes } = raw;
  if (!isCount(height) || !isCount(round) || typeof valueId !== 'string' || !isValueId(valueId)) return null;
  const parsed = parseVotes(votes);
  return parsed === null ? null : { height, round, valueId, votes: parsed };
}

function parseVotes(raw: unknown): VoteMessage[] | null {
  if (!Array.isArray(raw) || raw.length > CERTIFICATE_VOTES_MAX) return null;
  const parsed: VoteMessage[] = [];
  for (const vote of raw as unknown[]) {
    const v = parseVote(vote);
    if (v === null) return null;
    parsed.push(v);
  }
  return parsed;
}

function parseProposal(raw: unknown): ProposalMessage | null {
  if (!isObject(raw) || raw['kind'] !== 'proposal') return null;
  const { height, round, valueId, validRound, sender, signature } = raw;
  if (!isCount(height) || !isCount(round) || !isCount(sender) || typeof validRound !== 'number' || !Number.isSafeInteger(validRound) || validRound < -1) return null;
  if (typeof valueId !== 'string' || !isValueId(valueId) || !isSignature(signature)) return null;
  return { kind: 'proposal', height, round, valueId, validRound, sender, signature };
}

function parseVote(raw: unknown): VoteMessage | null {
  if (!isObject(raw)) return null;
  const { kind, height, round, valueId, sender, signature } = raw;
  if (kind !== 'prevote' && kind !== 'precommit') return null;
  if (!isCount(height) || !isCount(round) || !isCount(sender) || !isSignature(signature)) return null;
  if (valueId !== null && (typeof valueId !== 'string' || !isValueId(valueId))) return null;
  return { kind, height, round, valueId, sender, signature };
}

function isObject(value: unknown): value is Loose {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= 0xffffffff * 1024;
}

function isSignature(value: unknown): value is string {
  return typeof value === 'string' && value.length === SIGNATURE_HEX_LENGTH && /^[0-9a-f]+$/.test(value);
}
