// Positions of the PostgreSQL trigger capture: "<batch>:<sequence>", where batch numbers the stored
// snapshot that first saw the transaction and sequence is the change_sequence of the transaction's last
// change. Ordered by batch, then sequence (see postgres-capture.ts for why that is a commit order).
import { EntenteError } from '../../common/errors.ts';

export interface CapturePosition {
  readonly batch: bigint;
  readonly sequence: bigint;
}

export const startPosition: CapturePosition = { batch: 0n, sequence: 0n };

const positionPattern = /^(\d{1,19}):(\d{1,19})$/;
/**
 * A position of the layout before batches: a bare commit number. Its changes were dropped when the
 * layout was replaced, so it reads as batch 0 — before every position of this layout — and a gateway
 * that stored one resumes from the start of the new stream instead of failing.
 */
const legacyPositionPattern = /^(\d{1,19})$/;

export function parseCapturePosition(text: string): CapturePosition {
  const legacy = legacyPositionPattern.exec(text);
  if (legacy !== null) return { batch: 0n, sequence: BigInt(legacy[1] ?? '0') };
  const match = positionPattern.exec(text);
  if (match === null) {
    throw new EntenteError('USAGE', `"${text}" is not a PostgreSQL capture position ("<batch>:<sequence>"); pass a position returned by read().`);
  }
  return { batch: BigInt(match[1] ?? '0'), sequence: BigInt(match[2] ?? '0') };
}

export function formatCapturePosition(position: CapturePosition): string {
  return `${position.batch}:${position.sequence}`;
}

export function compareCapturePositions(a: CapturePosition, b: CapturePosition): number {
  if (a.batch !== b.batch) return a.batch < b.batch ? -1 : 1;
  if (a.sequence !== b.sequence) return a.sequence < b.sequence ? -1 : 1;
  return 0;
}

export function laterPosition(a: CapturePosition, b: CapturePosition): CapturePosition {
  return compareCapturePositions(a, b) >= 0 ? a : b;
}
