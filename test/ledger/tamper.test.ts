// Goal: any single-byte change to a stored block — frame, header, certificate signature, batch signature,
// transaction or payload bytes — is caught by `entente verify`, which names the block holding the byte.
// Method: write a signed 4-node ledger (10 blocks × 6 transactions with payloads), map every byte of the
// segment file to its block and region, then for 1,200 sampled positions (every region covered) flip one
// byte. In half of the body cases the record CRC is recomputed afterwards — an attacker who knows the
// format — so the hashes and signatures, not the checksum, must catch it. Then the CLI is run on a few
// cases to check its exit code and message.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../gateway/cli/main.ts';
import { encodeBlock, type Block } from '../../ledger/block.ts';
import { FRAME_HEADER_BYTES, frameChecksum, SEGMENT_FILE } from '../../ledger/store/segment-file.ts';
import { writeTestLedger } from '../../ledger/testing/test-network.ts';
import { verifyLedger } from '../../ledger/verify-ledger.ts';
import { seededRandom } from './support/crash-harness.ts';

type Region = 'frame' | 'header' | 'certificate' | 'batch-signature' | 'transaction' | 'payload' | 'structure';

interface ByteOwner {
  readonly height: number;
  readonly region: Region;
  readonly frameStart: number;
  readonly frameEnd: number;
}

/** Maps each byte of the segment to its block and region, from the documented layout (FORMAT.md). */
function mapSegment(blocks: readonly Block[]): ByteOwner[] {
  const owners: ByteOwner[] = [];
  let offset = 0;
  for (const block of blocks) {
    const body = encodeBlock(block);
    const frameStart = offset;
    const frameEnd = offset + FRAME_HEADER_BYTES + body.length;
    const regions: Region[] = new Array<Region>(body.length).fill('structure');
    let at = 1 + 4; // record version, header length
    regions.fill('header', at, at + block.headerBytes.length);
    regions.fill('certificate', at + block.headerBytes.length, at + block.headerBytes.length + 4); // round
    at += block.headerBytes.length + 4 + 2;
    for (let i = 0; i < block.certificate.signatures.length; i++, at += 66) regions.fill('certificate', at + 2, at + 66);
    at += 4;
    // u16 signer, 32-byte previous batch hash, 64-byte signature, u32 count: the hash and signature are signed or checked by the batch signature.
    for (let i = 0; i < block.batches.length; i++, at += 102) regions.fill('batch-signature', at + 2, at + 98);
    at += 4;
    for (const tx of block.transactionBytes) {
      regions.fill('transaction', at + 4, at + 4 + tx.length);
      at += 4 + tx.length;
    }
    at += 4;
    for (const p of block.payloads) {
      const audience = new TextEncoder().encode(p.audience).length;
      const dataStart = at + 4 + 2 + audience + 32 + 4;
      regions.fill('payload', at + 4 + 2 + audience, dataStart); // salt
      regions.fill('payload', dataStart, dataStart + p.data.length);
      at = dataStart + p.data.length;
    }
    expect(at).toBe(body.length);
    for (let i = 0; i < FRAME_HEADER_BYTES; i++) owners.push({ height: block.header.height, region: 'frame', frameStart, frameEnd });
    for (const region of regions) owners.push({ height: block.header.height, region, frameStart, frameEnd });
    offset = frameEnd;
  }
  return owners;
}

function fixChecksum(segment: Uint8Array, owner: ByteOwner): void {
  const frame = segment.subarray(owner.frameStart, owner.frameEnd);
  const checksum = frameChecksum(frame.subarray(4, 16), frame.subarray(FRAME_HEADER_BYTES));
  new DataView(frame.buffer, frame.byteOffset).setUint32(16, checksum);
}

describe('tamper detection', () => {
  let dir: string;
  let blocks: readonly Block[];
  let pristine: Buffer;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'entente-tamper-'));
    ({ blocks } = await writeTestLedger(dir, { nodes: 4, blocks: 10, txPerBlock: 6, payloadBytes: 120 }));
    pristine = await readFile(join(dir, SEGMENT_FILE));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('verifies the untouched ledger', async () => {
    const report = await verifyLedger(dir);
    expect(report).toMatchObject({ ok: true, height: 10, blocks: 10, transactions: 60, payloads: 60 });
  });

  it('detects 1,200 sampled single-byte flips and names the right block', async () => {
    const owners = mapSegment(blocks);
    expect(owners.length).toBe(pristine.length);
    const random = seededRandom(20261127);
    const byRegion = new Map<Region, number[]>();
    owners.forEach((o, i) => byRegion.set(o.region, [...(byRegion.get(o.region) ?? []), i]));
    const regions = [...byRegion.keys()];
    expect(regions.sort()).toEqual(['batch-signature', 'certificate', 'frame', 'header', 'payload', 'structure', 'transaction']);
    const misses: string[] = [];
    const rules = new Map<string, number>();
    const CASES = 1200;
    for (let c = 0; c < CASES; c++) {
      const region = regions[c % regions.length]!;
      const positions = byRegion.get(region)!;
      const position = positions[Math.floor(random() * positions.length)]!;
      const owner = owners[position]!;
      const segment = Buffer.from(pristine);
      segment[position]! ^= 1 + Math.floor(random() * 255);
      const attacker = region !== 'frame' && c % 2 === 0;
      if (attacker) fixChecksum(segment, owner);
      await writeFile(join(dir, SEGMENT_FILE), segment);
      const report = await verifyLedger(dir);
      if (report.ok || report.violation?.height !== owner.height) misses.push(`${region}@${position} (block ${owner.height}, crc fixed ${attacker}): ${report.ok ? 'not detected' : `named block ${report.violation?.height}`}`);
      else rules.set(report.violation.rule, (rules.get(report.violation.rule) ?? 0) + 1);
    }
    await writeFile(join(dir, SEGMENT_FILE), pristine);
    console.log(`tamper test: ${CASES} flips, rules that caught them: ${JSON.stringify(Object.fromEntries(rules))}`);
    expect(misses).toEqual([]);
    // With the checksum fixed up, semantic rules must do the catching.
    for (const rule of ['merkle-root', 'certificate-signature', 'batch-signature', 'payload']) expect(rules.get(rule) ?? 0).toBeGreaterThan(0);
  }, 120_000);

  it('`entente verify` exits 1 naming block and rule, and 0 on the intact ledger', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t) };
    expect(await main(['verify', '--data', dir], io)).toBe(0);
    expect(out.join('')).toMatch(/height\s+10/);
    const owners = mapSegment(blocks);
    // The last byte of block 7's first transaction: part of a payload commitment, so only the root can tell.
    const first = owners.findIndex((o) => o.height === 7 && o.region === 'transaction');
    let position = first;
    while (owners[position + 1]?.region === 'transaction') position++;
    const segment = Buffer.from(pristine);
    segment[position]! ^= 0x40;
    fixChecksum(segment, owners[position]!);
    await writeFile(join(dir, SEGMENT_FILE), segment);
    expect(await main(['verify', '--data', dir], io)).toBe(1);
    expect(err.join('')).toMatch(/FAILED at block 7.*rule merkle-root/);
    expect(out.join('')).toMatch(/valid prefix 6 blocks/);
    await writeFile(join(dir, SEGMENT_FILE), pristine);
  });
});
