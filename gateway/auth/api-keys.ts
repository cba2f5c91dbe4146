// API keys for partner apps. A key is `ent_<id>_<secret>` with 32 random bytes of secret, so a single
// SHA-256 of it is a safe at-rest form (no dictionary to attack; a slow KDF would only cost latency on
// every request). The gateway stores { id, sha256, roles } and never the key; lookup is by id, and the
// digest comparison is constant-time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { EntenteError } from '../../common/errors.ts';

export interface ApiKeyRecord {
  readonly id: string;
  /** Hex SHA-256 of the whole key string. */
  readonly sha256: string;
  readonly roles: readonly string[];
  /** Shown in logs, e.g. 'warehouse scanner'. */
  readonly description?: string;
}

export interface IssuedApiKey {
  /** Give this to the app once; it cannot be recovered from the record. */
  readonly key: string;
  readonly record: ApiKeyRecord;
}

const keyPattern = /^ent_([a-z0-9]{8,32})_([A-Za-z0-9_-]{43})$/;
export const apiKeyIdPattern = /^[a-z0-9]{8,32}$/;

export function issueApiKey(roles: readonly string[], description?: string): IssuedApiKey {
  const id = randomBytes(8).toString('hex');
  const key = `ent_${id}_${randomBytes(32).toString('base64url')}`;
  return { key, record: { id, sha256: sha256Hex(key), roles: [...roles], ...(description === undefined ? {} : { description }) } };
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export class ApiKeyStore {
  readonly #byId: ReadonlyMap<string, ApiKeyRecord>;

  constructor(records: readonly ApiKeyRecord[]) {
    const byId = new Map<string, ApiKeyRecord>();
    for (const record of records) byId.set(record.id, record);
    this.#byId = byId;
  }

  get size(): number {
    return this.#byId.size;
  }

  /** The record of a presented key, or an UNAUTHENTICATED error that never says which part was wrong. */
  verify(presented: string): ApiKeyRecord {
    const match = keyPattern.exec(presented);
    const record = match?.[1] === undefined ? undefined : this.#byId.get(match[1]);
    const expected = Buffer.from(record?.sha256 ?? '0'.repeat(64), 'hex');
    const actual = Buffer.from(sha256Hex(presented), 'hex');
    // Compare even when the id is unknown, so timing does not reveal which ids exist.
    const equal = expected.length === actual.length && timingSafeEqual(expected, actual);
    if (record === undefined || !equal) {
      throw new EntenteError('UNAUTHENTICATED', 'The API key is not valid for this gateway. Check the key, or ask the gateway operator to issue a new one.');
    }
    return record;
  }
}
