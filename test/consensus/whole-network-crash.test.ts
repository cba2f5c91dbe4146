// A whole-network crash: all four node processes SIGKILLed at once while clients submit, several times,
// each time restarted from their data directories. Every time the network must decide new heights again,
// and in the end every node holds every acknowledged transaction exactly once, under one head.
// Why: a kill that falls after the precommits of a height and before any node stored its block leaves
// every node locked on a value only the dead processes held in memory (the valid-block file is written
// only if a height stays open 200 ms). Before the locked record carried the block itself
// (ledger/node/stored-snapshot.ts), such a network restarted locked on a value none of its nodes could
// show, prevoted nil on every other one, and never decided again. With heights back to back under load,
// a good share of kill moments fall in that window (see ledger/README.md for the counts).
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalCluster } from './local-cluster.ts';

/** Milliseconds of load before each whole-network kill (fixed, so runs differ only by timing). */
const KILL_AFTER_MS = [250, 330, 190, 410, 270, 360, 220, 300];
/** How long the restarted network may take to commit a probe transaction before it counts as stuck. */
const RECOVERY_MS_MAX = 15_000;

let cluster: LocalCluster | null = null;

afterAll(async () => {
  await cluster?.stopAll();
  cluster?.remove();
});

describe('four node processes all SIGKILLed at once, again and again', () => {
  it('decide new heights after every restart and keep every acknowledged transaction exactly once', async () => {
    cluster = await LocalCluster.create(4);
    const c = cluster;
    await c.startAll();
    const nodes = [0, 1, 2, 3];
    const acknowledged: Uint8Array[] = [];
    let down = false;
    let stop = false;
    let sequence = 0;
    const client = async (id: number): Promise<void> => {
      while (!stop) {
        if (down) {
          await sleep(20);
          continue;
        }
        const target = nodes[(sequence + id) % nodes.length]!;
        const txs = Array.from({ length: 20 }, () => new TextEncoder().encode(`client ${id} tx ${sequence++} ${'x'.repeat(200)}`));
        try {
          await c.submit(target, txs, AbortSignal.timeout(5_000));
          acknowledged.push(...txs);
        } catch {
          // Unacknowledged (the node was killed meanwhile): the client may not count these.
        }
      }
    };
    const stuck: string[] = [];
    const chaos = async (): Promise<void> => {
      try {
        for (const [round, loadMs] of KILL_AFTER_MS.entries()) {
          await sleep(loadMs);
          down = true;
          const before = Math.max(...(await Promise.all(nodes.map((i) => c.status(i)))).map((s) => s.height));
          await Promise.all(nodes.map((i) => c.kill(i, 'SIGKILL')));
          await Promise.all(nodes.map((i) => c.start(i)));
          down = false;
          const probe = new TextEncoder().encode(`probe after kill ${round}`);
          let height: number;
          try {
            height = await c.submit(round % nodes.length, [probe], AbortSignal.timeout(RECOVERY_MS_MAX));
          } catch (error) {
            const statuses = await Promise.all(nodes.map((i) => c.status(i)));
            stuck.push(`kill ${round + 1} after ${loadMs} ms of load: no commit within ${RECOVERY_MS_MAX} ms (${(error as Error).message}); heights ${statuses.map((s) => `${s.height}/r${s.round}`).join(', ')}`);
            break;
          }
          acknowledged.push(probe);
          expect(height).toBeGreaterThan(before);
        }
      } finally {
        stop = true; // the clients end with the chaos, whatever ended it
      }
    };
    await Promise.all([client(0), client(1), client(2), chaos()]);
    expect(stuck).toEqual([]);
    expect(acknowledged.length).toBeGreaterThan(KILL_AFTER_MS.length);

    // One head everywhere; every acknowledged transaction on every node, none stored twice.
    expect(await c.audit(acknowledged)).toEqual({ heads: 1, missing: [0, 0, 0, 0], storedTwice: [] });
  }, 240_000);
});
