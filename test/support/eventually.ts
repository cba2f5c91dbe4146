// Waiting in tests for something another process or node does in its own time: polls until the check
// passes and fails with the check's own last error (or a plain timeout) instead of a vague hang.

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `check` until it neither throws nor rejects; after `timeoutMs` its last error is thrown. */
export async function eventually(check: () => unknown, timeoutMs = 30_000, intervalMs = 100): Promise<void> {
  const started = Date.now();
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() - started > timeoutMs) throw error;
      await sleep(intervalMs);
    }
  }
}

/** Polls `condition` until it holds; throws after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs = 15_000, intervalMs = 20): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}
