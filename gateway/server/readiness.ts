// Readiness: can this gateway serve its partner right now? Each part (database, peers, consensus)
// reports through a narrow provider injected by whoever owns it, so the server knows nothing of
// connectors or consensus. A check that throws or takes too long counts as not ready.
export interface ReadinessResult {
  readonly ok: boolean;
  /** Plain facts for operators, e.g. { connected: 2, required: 3 } or { height: 120 }. */
  readonly detail?: Readonly<Record<string, string | number | boolean | null>>;
  /** Why it is not ready, and what to do. */
  readonly reason?: string;
}

export interface ReadinessCheck {
  readonly name: string;
  check(signal: AbortSignal): Promise<ReadinessResult>;
}

export interface ReadinessReport {
  readonly ready: boolean;
  readonly checks: Readonly<Record<string, ReadinessResult>>;
}

export const readinessCheckTimeoutMs = 2_000;

export async function evaluateReadiness(checks: readonly ReadinessCheck[], timeoutMs = readinessCheckTimeoutMs): Promise<ReadinessReport> {
  const results = await Promise.all(checks.map((check) => runCheck(check, timeoutMs)));
  const report: Record<string, ReadinessResult> = {};
  checks.forEach((check, index) => {
    report[check.name] = results[index] ?? { ok: false, reason: 'no result' };
  });
  return { ready: results.every((result) => result.ok), checks: report };
}

async function runCheck(check: ReadinessCheck, timeoutMs: number): Promise<ReadinessResult> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ReadinessResult>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve({ ok: false, reason: `the ${check.name} check did not answer within ${timeoutMs} ms` });
    }, timeoutMs);
  });
  try {
    return await Promise.race([check.check(controller.signal), timeout]);
  } catch (error) {
    return { ok: false, reason: `the ${check.name} check failed: ${error instanceof Error ? error.message : String(error)}` };
  } finally {
    clearTimeout(timer);
  }
}
