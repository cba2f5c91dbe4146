// Certificate rotation without a restart (`entente node` reloads on SIGHUP). Certificates are renewed every
// few weeks to months, and in a network of three gateways a quorum needs all three: restarting one to pick
// up a new certificate stops every partner's commits until it is back. A reload reads and checks the same
// files as the start (./tls-material.ts) and builds a TLS context from them before anything changes, so a
// half-copied or mismatched file is refused and the gateway keeps serving what it served. Connections
// open at the time keep the certificate they were made with; new ones get the new one.
import { createSecureContext } from 'node:tls';
import { EntenteError } from '../../common/errors.ts';
import { loadTlsMaterial, type TlsFiles, type TlsMaterial } from './tls-material.ts';

/** A part of the gateway that serves or dials with TLS and takes new material in place. */
export type TlsTarget = (material: TlsMaterial) => void;

export class TlsReloader {
  readonly #files: TlsFiles;
  readonly #targets: TlsTarget[] = [];
  #material: TlsMaterial;
  /** Reloads run one after another, so two quick SIGHUPs cannot hand the parts material out of order. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(files: TlsFiles, initial: TlsMaterial) {
    this.#files = files;
    this.#material = initial;
  }

  get material(): TlsMaterial {
    return this.#material;
  }

  /** Whether the configuration names any TLS file (without one a reload has nothing to read). */
  get configured(): boolean {
    return this.#files.certFile !== null || this.#files.caFile !== null;
  }

  /** Registers a part to be given the material of every successful reload. */
  attach(target: TlsTarget): void {
    this.#targets.push(target);
  }

  /**
   * Reads the files again and hands the new material to every attached part. Throws CONFIG_INVALID
   * (naming the file and the fix) without changing anything when the new files are not usable.
   */
  reload(now = new Date()): Promise<TlsMaterial> {
    const reloaded = this.#queue.then(() => this.#reloadNow(now));
    this.#queue = reloaded.catch(() => undefined);
    return reloaded;
  }

  async #reloadNow(now: Date): Promise<TlsMaterial> {
    if (!this.configured) throw new EntenteError('CONFIG_INVALID', 'this gateway\'s configuration names no TLS files (tls.certFile, tls.keyFile, tls.caFile), so there is nothing to reload.');
    const next = await loadTlsMaterial(this.#files, now);
    // Switching between http:// and https:// would change the addresses the peers were given; the
    // configuration cannot do that (both files or neither), so this only guards the invariant.
    if ((next.serve === null) !== (this.#material.serve === null)) throw new EntenteError('CONFIG_INVALID', 'a reload cannot switch between plain and TLS serving; restart the gateway to do that.');
    if (next.serve !== null) {
      try {
        createSecureContext({ cert: next.serve.cert, key: next.serve.key });
      } catch (error) {
        throw new EntenteError('CONFIG_INVALID', `the certificate in tls.certFile ${this.#files.certFile} and the key in tls.keyFile ${this.#files.keyFile} cannot serve TLS (${(error as Error).message}); nothing was changed.`, { cause: error });
      }
    }
    for (const target of this.#targets) target(next);
    this.#material = next;
    return next;
  }
}
