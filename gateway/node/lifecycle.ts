// Resources a gateway opens (database connections, servers, loops) are closed in the reverse order of
// opening, each at most once, and a failure to close one does not leave the others open.
import type { Logger } from '../server/logger.ts';

export class Lifecycle {
  readonly #closers: { readonly name: string; readonly close: () => Promise<void> }[] = [];
  #closing: Promise<void> | null = null;

  /** Registers `close` to run at shutdown, before everything registered earlier. */
  defer(name: string, close: () => Promise<void>): void {
    this.#closers.push({ name, close });
  }

  close(logger: Logger): Promise<void> {
    this.#closing ??= (async () => {
      for (const closer of this.#closers.splice(0).reverse()) {
        try {
          await closer.close();
        } catch (error) {
          logger.error({ event: 'shutdown.failed', resource: closer.name, err: error }, `closing ${closer.name} failed`);
        }
      }
    })();
    return this.#closing;
  }
}
