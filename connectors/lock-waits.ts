// Schema changes made beside the partner's running applications (capture install, replica columns, at
// every gateway start) wait only briefly for a table's lock at a time: a DDL statement that waits long
// holds up every application session queued behind it, and one that waits while holding another lock
// can deadlock an application's transaction. The whole change is retried until a deadline, then
// reported (by the database family) with what held the lock.

/** How long a change keeps trying to take the locks it needs before it reports who holds them. */
export const lockWaitMsDefault = 60_000;
const retryPauseMsMax = 1_000;

/** Where an attempt is: the table whose lock it is waiting for, if any. */
export interface LockWaitProgress {
  target: string | null;
}

export interface LockWaitRetry {
  readonly lockWaitMs: number;
  /** The first pause between attempts; it doubles up to a second. */
  readonly firstPauseMs: number;
  /** True for the family's "lock not available" and "deadlock victim" errors. */
  readonly isLockWait: (error: unknown) => boolean;
  /** The error to throw once `lockWaitMs` has passed, naming `progress.target` and who held it. */
  readonly failure: (progress: LockWaitProgress, error: unknown) => Promise<Error>;
}

/** Runs `attempt` (one whole change, undone when it fails) until it succeeds, retrying lock waits until the deadline. */
export async function retryOnLockWaits<T>(retry: LockWaitRetry, attempt: (progress: LockWaitProgress) => Promise<T>): Promise<T> {
  const deadline = performance.now() + retry.lockWaitMs;
  let pauseMs = retry.firstPauseMs;
  for (;;) {
    const progress: LockWaitProgress = { target: null };
    try {
      return await attempt(progress);
    } catch (error) {
      if (!retry.isLockWait(error)) throw error;
      const remainingMs = deadline - performance.now();
      if (remainingMs <= 0) throw await retry.failure(progress, error);
      await new Promise((resolve) => setTimeout(resolve, Math.min(pauseMs, remainingMs)));
      pauseMs = Math.min(pauseMs * 2, retryPauseMsMax);
    }
  }
}
