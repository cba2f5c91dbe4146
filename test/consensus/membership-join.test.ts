// Goal (acceptance 3): a 5th node joins a running 4-node network through a committed membership
// transaction that takes effect at a later height (MEMBERSHIP_CHANGE_DELAY), syncs the chain it missed,
// and then contributes votes: its precommits appear in commit certificates after the change took effect.
// Method: real node processes on loopback; the joiner starts only after the change is committed, as a
// follower (not yet a member), fetches blocks by sync (certificates checked before storing), and must
// end on the same head as the others with its index among the signers of later certificates.
import { afterAll, describe, expect, it } from 'vitest';
import { MEMBERSHIP_CHANGE_DELAY, membershipChangeTx } from '../../ledger/node/runner-chain.ts';
import { LocalCluster } from './local-cluster.ts';

let cluster: LocalCluster | null = null;

afterAll(async () => {
  await cluster?.stopAll();
  cluster?.remove();
});

describe('a node joins by a membership transaction', () => {
  it('syncs, then votes', async () => {
    cluster = await LocalCluster.create(4, 1);
    const c = cluster;
    await c.startAll();
    for (let k = 0; k < 5; k++) await c.submit(k % 4, [new TextEncoder().encode(`before ${k}`)]);
    const changeHeight = await c.submit(0, [membershipChangeTx('partner-4', c.keys[4]!.publicKey)]);
    const effective = changeHeight + MEMBERSHIP_CHANGE_DELAY;
    await c.start(4);
    // Keep the chain moving; blocks after `effective` need 4 of 5 precommits.
    let signedByJoiner: number | null = null;
    for (let k = 0; k < 60 && signedByJoiner === null; k++) {
      const height = await c.submit(k % 4, [new TextEncoder().encode(`after ${k}`)], AbortSignal.timeout(10_000));
      for (let h = effective; h <= height && signedByJoiner === null; h++) {
        const signers = await c.signers(0, h);
        if (signers?.includes(4)) signedByJoiner = h;
      }
    }
    expect(signedByJoiner, 'the joined node never signed a certificate').not.toBeNull();
    expect(signedByJoiner!).toBeGreaterThanOrEqual(effective);
    // Before the change took effect the joiner could not vote: no certificate below `effective` names it.
    for (let h = 1; h < effective; h++) expect(await c.signers(0, h)).not.toContain(4);
    // The joiner synced everything: same head as the others.
    let heads: string[] = [];
    for (let attempt = 0; attempt < 100; attempt++) {
      heads = (await Promise.all([0, 1, 2, 3, 4].map((i) => c.status(i)))).map((s) => s.head);
      if (new Set(heads).size === 1) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(new Set(heads).size).toBe(1);
  }, 90_000);
});
