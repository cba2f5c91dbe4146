// The capture publisher's pause between acknowledgements leaves nothing on its long-lived abort signal:
// under load it pauses four times a second for as long as the gateway runs.
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { delay } from '../../gateway/ledger/capture-publisher.ts';

describe('capture publisher delay', () => {
  it('removes its abort listener when the time is up', async () => {
    const stop = new AbortController();
    for (let i = 0; i < 50; i += 1) await delay(1, stop.signal);
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);
  });

  it('ends at once when the signal aborts, and removes its timer and listener', async () => {
    const stop = new AbortController();
    const started = performance.now();
    const waiting = delay(60_000, stop.signal);
    stop.abort();
    await waiting;
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);
  });
});
