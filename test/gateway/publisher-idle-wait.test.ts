// The capture publisher's idle wait: a nudge or stop() cuts it short, and a wait leaves nothing behind
// on the publisher's long-lived abort signal. It waits dozens of times a second under load for as long as
// the gateway runs; AbortSignal.any() over that signal kept a link per wait on Node 20 (1M waits: 1M
// links, 54 MiB more heap after GC). Only the capture stream is stood in for: it is what the publisher
// waits on, and every read here is empty, so nothing reaches the ledger node or the database.
import { describe, expect, it } from 'vitest';
import type { ChangeCapture, Connector } from '../../connectors/connector.ts';
import { CapturePublisher, type CapturePublisherOptions } from '../../gateway/ledger/capture-publisher.ts';
import { createLogger } from '../../gateway/server/logger.ts';

interface IdleCapture {
  readonly signals: AbortSignal[];
  /** Resolves each wait at once, or only when its signal aborts. */
  settleAtOnce: boolean;
}

function publisherOver(capture: IdleCapture): CapturePublisher {
  const stream: Pick<ChangeCapture, 'install' | 'acknowledgedPosition' | 'read' | 'waitForChanges'> = {
    install: async () => undefined,
    acknowledgedPosition: async () => null,
    read: async () => [],
    waitForChanges: (_timeoutMs, signal) => {
      capture.signals.push(signal!);
      if (capture.settleAtOnce) return new Promise((resolve) => setImmediate(resolve));
      return new Promise((resolve) => signal!.addEventListener('abort', () => resolve(), { once: true }));
    },
  };
  const options = {
    connector: { capture: stream } as unknown as Connector,
    unified: { types: [] },
    partner: 'acme',
    logger: createLogger({ level: 'silent' }),
  } as unknown as CapturePublisherOptions;
  return new CapturePublisher(options);
}

/** Links from a signal to the AbortSignal.any() results made over it (a Node internal; absent means none). */
function dependantsOf(signal: AbortSignal): number {
  const key = Object.getOwnPropertySymbols(signal).find((symbol) => symbol.description === 'kDependantSignals');
  return key === undefined ? 0 : ((signal as unknown as Record<symbol, Set<unknown> | undefined>)[key]?.size ?? 0);
}

async function until(condition: () => boolean): Promise<void> {
  const deadline = performance.now() + 5_000;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

describe('capture publisher idle wait', () => {
  it('leaves no link on the publisher\'s signal, however many times it waits', async () => {
    const capture: IdleCapture = { signals: [], settleAtOnce: true };
    const publisher = publisherOver(capture);
    await publisher.start();
    await until(() => capture.signals.length >= 200);
    const publisherSignal = (publisher as unknown as { abort: AbortController }).abort.signal;
    expect(dependantsOf(publisherSignal)).toBe(0);
    await publisher.stop();
  });

  it('a nudge ends the wait and reads again; stop() ends it at once', async () => {
    const capture: IdleCapture = { signals: [], settleAtOnce: false };
    const publisher = publisherOver(capture);
    await publisher.start();
    await until(() => capture.signals.length === 1);
    publisher.nudge();
    await until(() => capture.signals.length === 2);
    expect(capture.signals[0]!.aborted).toBe(true);
    const started = performance.now();
    await publisher.stop();
    expect(performance.now() - started).toBeLessThan(500);
    expect(capture.signals[1]!.aborted).toBe(true);
  });
});
