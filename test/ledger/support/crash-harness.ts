// Shared by the crash test (test/ledger/store-crash.test.ts) and the soak (bench/ledger-crash-soak.ts):
// builds a source chain, bundles the child writer into one plain .mjs (so each child starts in tens of
// milliseconds instead of paying the TypeScript loader), and runs kill cycles in a lane.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { nodeHasher } from '../../../ledger/crypto/sha256-node.ts';
import { bytesEqual } from '../../../ledger/encoding/hex.ts';
import { SegmentBlockStore } from '../../../ledger/store/segment-store.ts';
import { createTestNetwork, TestChainBuilder, type TestNetwork } from '../../../ledger/testing/test-network.ts';

export interface CrashFixture {
  readonly workDir: string;
  readonly sourceDir: string;
  readonly childScript: string;
  readonly network: TestNetwork;
  readonly sourceHeight: number;
  cleanup(): Promise<void>;
}

/** A source chain of `blocks` blocks of 1..60 changes with payloads of 16..6000 bytes (records up to ~350 KB). */
export async function prepareCrashFixture(blocks: number, seed = 1): Promise<CrashFixture> {
  const workDir = await mkdtemp(join(tmpdir(), 'entente-crash-'));
  const sourceDir = join(workDir, 'source');
  const network = createTestNetwork({ nodes: 4 });
  const random = seededRandom(seed);
  const source = await SegmentBlockStore.open(sourceDir);
  const builder = new TestChainBuilder(network);
  const n = network.genesis.membership.nodes.length;
  for (let b = 0; b < blocks; b++) {
    const payloadBytes = 16 + Math.floor(random() * 3000);
    const changes = Math.floor(random() * random() * 60) + 1;
    const block = builder.nextBlock(Array.from({ length: changes }, (_, i) => ({ owner: Math.floor((i * n) / changes) % n, payloadBytes })));
    await source.append(block, nodeHasher.sha256(block.headerBytes));
  }
  await source.close();
  const childScript = join(workDir, 'crash-writer.mjs');
  await build({ entryPoints: [fileURLToPath(new URL('./crash-writer.ts', import.meta.url))], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: childScript, logLevel: 'silent' });
  return { workDir, sourceDir, childScript, network, sourceHeight: blocks, cleanup: () => rm(workDir, { recursive: true, force: true }) };
}

export interface LaneResult {
  readonly kills: number;
  readonly tornTails: number;
  readonly ackedBlocks: number;
  readonly resets: number;
}

/** Runs `kills` spawn→random SIGKILL cycles against one target directory, checking after each. */
export async function runKillLane(fixture: CrashFixture, lane: number, kills: number, seed: number, sourceBodies: (height: number) => Promise<Uint8Array>): Promise<LaneResult> {
  const random = seededRandom(seed);
  const targetDir = join(fixture.workDir, `target-${lane}`);
  let acked = 0;
  let checkedUpTo = 0;
  let tornTails = 0;
  let ackedBlocks = 0;
  let resets = 0;
  for (let k = 0; k < kills; k++) {
    // Mostly kill while appending (0..40 ms after "ready"); sometimes during start-up and recovery.
    const duringStartup = random() < 0.15;
    const delayMs = Math.floor(random() * (duringStartup ? 300 : 60));
    const newest = await runChildUntilKilled(fixture, targetDir, delayMs, duringStartup);
    if (newest > acked) {
      ackedBlocks += newest - acked;
      acked = newest;
    }
    if (!existsSync(join(targetDir, 'blocks.seg'))) {
      if (acked > 0) throw new Error(`lane ${lane} kill ${k}: the segment file vanished after ${acked} acknowledged blocks`);
      continue; // killed before the first child created the store
    }
    // Reopen read-only (the next child does the recovery, so a kill can also land during recovery).
    const store = await SegmentBlockStore.open(targetDir, { readOnly: true });
    try {
      const head = store.head().height;
      if (head < acked) throw new Error(`lane ${lane} kill ${k}: acknowledged block ${acked} is missing (head ${head})`);
      if (store.tail.kind !== 'clean') tornTails++;
      for (let h = Math.max(1, checkedUpTo - 1); h <= head; h++) {
        const stored = (await store.readBody(h))!;
        if (!bytesEqual(stored, await sourceBodies(h))) throw new Error(`lane ${lane} kill ${k}: block ${h} differs from what was appended`);
      }
      checkedUpTo = head;
      if (head >= fixture.sourceHeight - 60) {
        await store.close();
        await rm(targetDir, { recursive: true, force: true });
        acked = 0;
        checkedUpTo = 0;
        resets++;
        continue;
      }
    } finally {
      await store.close();
    }
  }
  return { kills, tornTails, ackedBlocks, resets };
}

function runChildUntilKilled(fixture: CrashFixture, targetDir: string, delayMs: number, fromSpawn: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fixture.childScript, fixture.sourceDir, targetDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let newest = 0;
    let pending = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (line.startsWith('ack ')) newest = Number(line.slice(4));
        else if (line.startsWith('ready') && !fromSpawn) timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    let timer = fromSpawn ? setTimeout(() => child.kill('SIGKILL'), delayMs) : undefined;
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL' && code !== 0) reject(new Error(`crash writer failed (${code}): ${stderr}`));
      else resolve(newest);
    });
  });
}

export function seededRandom(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 0x100000000;
  };
}

export async function sourceBodyReader(fixture: CrashFixture): Promise<{ read: (height: number) => Promise<Uint8Array>; close: () => Promise<void> }> {
  const store = await SegmentBlockStore.open(fixture.sourceDir, { readOnly: true });
  const cache = new Map<number, Uint8Array>();
  return {
    read: async (height) => {
      let body = cache.get(height);
      if (body === undefined) {
        body = (await store.readBody(height))!;
        cache.set(height, body);
      }
      return body;
    },
    close: () => store.close(),
  };
}

