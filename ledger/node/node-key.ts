// Node key files: the partner's consensus identity. JSON with the format tag, the partner name, and the
// Ed25519 public key and 32-byte seed in hex; written with mode 0600 and never overwritten.
import { readFileSync, writeFileSync } from 'node:fs';
import { EntenteError } from '../../common/errors.ts';
import { ed25519PublicKey, generateEd25519KeyPair } from '../crypto/ed25519.ts';
import { bytesEqual, toHex, tryFromHex } from '../encoding/hex.ts';
import { checkPartnerName } from '../membership.ts';

export const NODE_KEY_FORMAT = 'entente-node-key/1';

export interface NodeKey {
  readonly partner: string;
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

export function createNodeKey(partner: string): NodeKey {
  checkPartnerName(partner);
  const pair = generateEd25519KeyPair();
  return { partner, publicKey: pair.publicKey, secretKey: pair.secretKey };
}

export function writeNodeKeyFile(path: string, key: NodeKey): void {
  const json = { format: NODE_KEY_FORMAT, partner: key.partner, publicKey: toHex(key.publicKey), secretKey: toHex(key.secretKey) };
  try {
    writeFileSync(path, `${JSON.stringify(json, null, 2)}\n`, { flag: 'wx', mode: 0o600 });
  } catch (error) {
    throw new EntenteError('CONFIG_INVALID', `cannot write the node key ${path} (${(error as Error).message}); an existing key is never overwritten, pick another --out`, { cause: error });
  }
}

export function readNodeKeyFile(path: string): NodeKey {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new EntenteError('CONFIG_INVALID', `cannot read the node key ${path}; create one with \`entente keygen --partner NAME --out ${path}\``, { cause: error });
  }
  const v = value as Record<string, unknown>;
  const secretKey = typeof v['secretKey'] === 'string' ? tryFromHex(v['secretKey']) : null;
  const publicKey = typeof v['publicKey'] === 'string' ? tryFromHex(v['publicKey']) : null;
  if (v['format'] !== NODE_KEY_FORMAT || typeof v['partner'] !== 'string' || secretKey === null || secretKey.length !== 32 || publicKey === null) {
    throw new EntenteError('CONFIG_INVALID', `${path} is not an Entente node key (format ${NODE_KEY_FORMAT}); create one with \`entente keygen\``);
  }
  if (!bytesEqual(ed25519PublicKey(secretKey), publicKey)) throw new EntenteError('CONFIG_INVALID', `${path}: the public key does not belong to the secret key; the file is damaged, restore it from backup`);
  return { partner: v['partner'], publicKey, secretKey };
}

/** The public half, as listed in a genesis file: `partner:hex`. */
export function publicKeyLine(key: NodeKey): string {
  return `${key.partner}:${toHex(key.publicKey)}`;
}
