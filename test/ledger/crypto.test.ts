// Goal: pin the ledger's crypto back ends. The node:crypto SHA-256 and the @noble/hashes (browser) one
// must agree byte for byte; the one Ed25519 verifier consensus uses must accept/reject the published
// ed25519-speccheck edge cases exactly as recorded here (a library upgrade that changes any verdict must
// fail this test, since nodes disagreeing on a signature would split the network); enrolment must refuse
// small-order and non-canonical keys. Method: published vectors from ../shared/testdata plus random inputs.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { browserHasher } from '../../ledger/crypto/sha256-browser.ts';
import { nodeHasher } from '../../ledger/crypto/sha256-node.ts';
import { hashInDomain } from '../../ledger/crypto/hasher.ts';
import { domainMessage, domainPrefix, DOMAIN_TAGS } from '../../ledger/crypto/domain.ts';
import { createEd25519Signer, ed25519FastPath, ed25519PublicKey, generateEd25519KeyPair, signEd25519, verifyEd25519, verifyWithOpenssl } from '../../ledger/crypto/ed25519.ts';
import { enrolPublicKey, publicKeyRejection } from '../../ledger/crypto/enrol.ts';
import { fromHex, toHex } from '../../ledger/encoding/hex.ts';
import { createMembership, decodeMembership, encodeMembership, membershipHash, quorumSize } from '../../ledger/membership.ts';

interface SpeccheckCase {
  readonly message: string;
  readonly pub_key: string;
  readonly signature: string;
}
const speccheck = JSON.parse(readFileSync(new URL('../../../shared/testdata/ed25519-speccheck/cases.json', import.meta.url), 'utf8')) as SpeccheckCase[];

describe('SHA-256 back ends', () => {
  it('agree with each other and with the FIPS 180-2 "abc" vector', () => {
    const abc = new TextEncoder().encode('abc');
    const expected = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
    expect(toHex(nodeHasher.sha256(abc))).toBe(expected);
    expect(toHex(browserHasher.sha256(abc))).toBe(expected);
    for (const size of [0, 1, 31, 32, 33, 55, 56, 63, 64, 65, 1024, 4095, 4096, 4097, 100_000]) {
      const parts = [randomBytes(size), randomBytes(size % 7), new Uint8Array(0)];
      expect(toHex(nodeHasher.sha256Parts(parts))).toBe(toHex(browserHasher.sha256Parts(parts)));
      expect(toHex(nodeHasher.sha256(parts[0]!))).toBe(toHex(browserHasher.sha256(parts[0]!)));
      expect(toHex(nodeHasher.merkleLeaf(parts[0]!))).toBe(toHex(browserHasher.merkleLeaf(parts[0]!)));
    }
    const left = randomBytes(32);
    const right = randomBytes(32);
    expect(toHex(nodeHasher.merkleNode(left, right))).toBe(toHex(browserHasher.merkleNode(left, right)));
    expect(toHex(nodeHasher.merkleNode(left, right))).toBe(toHex(nodeHasher.sha256(Buffer.concat([Buffer.of(1), left, right]))));
  });

  it('domain prefixes are tag, 0x00, version, and hashing in a domain is SHA-256 of prefix || data', () => {
    expect(toHex(domainPrefix('transaction'))).toBe(toHex(Buffer.concat([Buffer.from('entente/tx'), Buffer.of(0, 1)])));
    const tags = Object.values(DOMAIN_TAGS);
    expect(new Set(tags).size).toBe(tags.length);
    for (const tag of tags) expect(tag.includes('\0')).toBe(false);
    const data = randomBytes(100);
    expect(toHex(hashInDomain(nodeHasher, 'blockHeader', [data]))).toBe(toHex(nodeHasher.sha256(domainMessage('blockHeader', [data]))));
    expect(toHex(hashInDomain(browserHasher, 'blockHeader', [data]))).toBe(toHex(hashInDomain(nodeHasher, 'blockHeader', [data])));
  });
});

describe('Ed25519 on node:crypto', () => {
  it('signs and verifies, and rejects a changed message, key or signature', () => {
    const pair = generateEd25519KeyPair();
    expect(toHex(ed25519PublicKey(pair.secretKey))).toBe(toHex(pair.publicKey));
    const message = domainMessage('commitVote', [randomBytes(32)]);
    const signature = signEd25519(pair.secretKey, message);
    expect(verifyEd25519(pair.publicKey, message, signature)).toBe(true);
    const signer = createEd25519Signer(pair.secretKey);
    expect(toHex(signer.sign(message))).toBe(toHex(signature)); // RFC 8032 signatures are deterministic
    const changed = message.slice();
    changed[5]! ^= 1;
    expect(verifyEd25519(pair.publicKey, changed, signature)).toBe(false);
    const badSignature = signature.slice();
    badSignature[40]! ^= 0x10;
    expect(verifyEd25519(pair.publicKey, message, badSignature)).toBe(false);
    expect(verifyEd25519(generateEd25519KeyPair().publicKey, message, signature)).toBe(false);
    expect(verifyEd25519(pair.publicKey, message, signature.subarray(0, 63))).toBe(false);
    expect(verifyEd25519(new Uint8Array(31), message, signature)).toBe(false);
  });

  it('matches the RFC 8032 test 1 vector', () => {
    const secret = fromHex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
    expect(toHex(ed25519PublicKey(secret))).toBe('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    expect(toHex(signEd25519(secret, new Uint8Array(0)))).toBe(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    );
  });

  // The verdicts OpenSSL (node:crypto) gives on ed25519-speccheck cases 0..9: cofactorless verification,
  // small-order A and R accepted by the equation (cases 0-3), mixed-order / non-canonical / S >= L rejected
  // (4-9). Consensus must never depend on any other verifier; enrolment keeps small-order keys out.
  const EXPECTED_VERDICTS = [true, true, true, true, false, false, false, false, false, false];
  // Node 24's node:crypto (24.21, OpenSSL 3.5.8) refuses cases 0-2, whose key A is of small or mixed
  // order, which Node 20 and 22 accept by the equation (Node 22.23 bundles the same OpenSSL 3.5.8, so it is
  // not the OpenSSL version alone). Gateways on different Node versions still never disagree about a
  // member's signature: enrolment refuses every key of those cases (checked here), and with a torsion-free
  // A the cofactorless equation forces R into the prime-order subgroup too.
  const NODE_24_VERDICTS = [false, false, false, true, false, false, false, false, false, false];

  it('pins the ed25519-speccheck verdicts (per Node major), and they differ only where enrolment refuses the key', () => {
    expect(speccheck).toHaveLength(EXPECTED_VERDICTS.length);
    const verdicts = speccheck.map((c) => verifyEd25519(fromHex(c.pub_key), fromHex(c.message), fromHex(c.signature)));
    const nodeMajor = Number(process.versions.node.split('.')[0]);
    expect(verdicts, `Node ${process.versions.node}, OpenSSL ${process.versions.openssl}`).toEqual(nodeMajor >= 24 ? NODE_24_VERDICTS : EXPECTED_VERDICTS);
    EXPECTED_VERDICTS.forEach((verdict, i) => {
      if (verdict !== NODE_24_VERDICTS[i]) expect(publicKeyRejection(fromHex(speccheck[i]!.pub_key)), `case ${i}`).not.toBeNull();
    });
  });

  it('libsodium, where it loads, is a fast path only: every verdict is OpenSSL\'s, and signatures are the same bytes', () => {
    // CI runs on linux-x64, where sodium-native ships a prebuilt addon: the fast path must be the one tested.
    if (process.platform === 'linux' && process.arch === 'x64') expect(ed25519FastPath).toBe('libsodium');
    for (const c of speccheck) {
      const args = [fromHex(c.pub_key), fromHex(c.message), fromHex(c.signature)] as const;
      expect(verifyEd25519(...args)).toBe(verifyWithOpenssl(...args));
    }
    // A member's valid signature whose R is the identity point: OpenSSL's equation accepts it, libsodium
    // refuses small-order R. A Byzantine member can make one (s = h·a), so the verdict must stay OpenSSL's.
    const { publicKey, secretKey } = generateEd25519KeyPair();
    const message = randomBytes(40);
    const identityR = new Uint8Array(32);
    identityR[0] = 1;
    const expanded = createHash('sha512').update(secretKey).digest();
    expanded[0]! &= 248;
    expanded[31]! &= 127;
    expanded[31]! |= 64;
    const order = 2n ** 252n + 27742317777372353535851937790883648493n;
    const littleEndian = (bytes: Uint8Array): bigint => bytes.reduceRight((value, byte) => (value << 8n) | BigInt(byte), 0n);
    const h = littleEndian(createHash('sha512').update(identityR).update(publicKey).update(message).digest()) % order;
    const s = (h * littleEndian(expanded.subarray(0, 32))) % order;
    const sBytes = Uint8Array.from({ length: 32 }, (_, i) => Number((s >> BigInt(8 * i)) & 0xffn));
    const crafted = new Uint8Array([...identityR, ...sBytes]);
    const openssl = verifyWithOpenssl(publicKey, message, crafted);
    if (Number(process.versions.node.split('.')[0]) < 24) expect(openssl).toBe(true);
    if (ed25519FastPath === 'libsodium') {
      const sodium = createRequire(import.meta.url)('sodium-native') as { crypto_sign_verify_detached(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean };
      expect(sodium.crypto_sign_verify_detached(crafted, message, publicKey)).toBe(false);
    }
    expect(verifyEd25519(publicKey, message, crafted)).toBe(openssl);
    // Honest signatures: the fast signer's bytes are OpenSSL's, and each verifier accepts them; a flipped bit fails both.
    const signer = createEd25519Signer(secretKey);
    for (let i = 0; i < 50; i++) {
      const text = randomBytes(i * 7);
      const signature = signer.sign(text);
      expect(toHex(signature)).toBe(toHex(signEd25519(secretKey, text)));
      expect(verifyEd25519(publicKey, text, signature)).toBe(true);
      expect(verifyWithOpenssl(publicKey, text, signature)).toBe(true);
      const flipped = Uint8Array.from(signature);
      flipped[i % 64]! ^= 1 << (i % 8);
      expect(verifyEd25519(publicKey, text, flipped)).toBe(false);
    }
  });

  it('enrolment rejects the small-order and non-canonical keys of speccheck and accepts generated keys', () => {
    for (let i = 0; i < 20; i++) expect(publicKeyRejection(generateEd25519KeyPair().publicKey)).toBeNull();
    // c7176a70…: a small-order point used as A in cases 0-2.
    expect(publicKeyRejection(fromHex(speccheck[0]!.pub_key))).toBe('small-order');
    // The identity encoded canonically (y = 1) and non-canonically (y = p + 1).
    expect(publicKeyRejection(fromHex('0100000000000000000000000000000000000000000000000000000000000000'))).toBe('small-order');
    expect(publicKeyRejection(fromHex('eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'))).toBe('non-canonical');
    // x = 0 with the sign bit set is a second encoding of the identity.
    expect(publicKeyRejection(fromHex('0100000000000000000000000000000000000000000000000000000000000080'))).toMatch(/non-canonical|not-on-curve/);
    expect(publicKeyRejection(new Uint8Array(33))).toBe('wrong-length');
    // Mixed order: a valid key plus a small-order component (speccheck case 4's key is of mixed order).
    expect(publicKeyRejection(fromHex(speccheck[4]!.pub_key))).not.toBeNull();
    expect(() => enrolPublicKey(fromHex(speccheck[0]!.pub_key), 'mallory')).toThrow(/mallory.*small-order/);
  });
});

describe('Membership', () => {
  it('computes quorums 2f+1 for n = 3f+1 and allows a single node', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 10, 13].map(quorumSize)).toEqual([1, 2, 2, 3, 4, 4, 5, 7, 9]);
  });

  it('round-trips its canonical encoding, hashes it identically on both back ends, refuses bad members', () => {
    const keys = [generateEd25519KeyPair(), generateEd25519KeyPair(), generateEd25519KeyPair(), generateEd25519KeyPair()];
    const membership = createMembership(keys.map((k, i) => ({ partner: `partner-${i}`, publicKey: k.publicKey })));
    const bytes = encodeMembership(membership);
    expect(toHex(encodeMembership(decodeMembership(bytes)))).toBe(toHex(bytes));
    expect(toHex(membershipHash(nodeHasher, membership))).toBe(toHex(membershipHash(browserHasher, membership)));
    expect(() => decodeMembership(Buffer.concat([bytes, Buffer.of(0)]))).toThrow(/trailing/);
    expect(() => createMembership([{ partner: 'a', publicKey: keys[0]!.publicKey }, { partner: 'a', publicKey: keys[1]!.publicKey }])).toThrow(/twice/);
    expect(() => createMembership([{ partner: 'a', publicKey: keys[0]!.publicKey }, { partner: 'b', publicKey: keys[0]!.publicKey }])).toThrow(/reuses/);
    expect(() => createMembership([{ partner: 'a', publicKey: fromHex(speccheck[0]!.pub_key) }])).toThrow(/small-order/);
    expect(() => createMembership([])).toThrow(/1\.\./);
  });
});
