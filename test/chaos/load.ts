// Steady load while faults fly: mutations with unique refs through the gateways' API at a fixed rate
// (each through a random gateway, so most are forwarded to the owner; failures are retried through the
// same gateway with the same idempotency key, which must still apply the change once), and direct SQL writes on the PostgreSQL and
// MariaDB partners playing their legacy applications (inserts, and updates that move rows in and out of
// row-filtered replicas). What was acknowledged is recorded for the exactly-once check.
import type { ChaosNetwork, ChaosPartner } from './chaos-network.ts';
import { LEGACY_APPLICATION_NAME, legacyMariadbSessions, openSqlClient, type SqlClient } from './partner-databases.ts';

const IN_FLIGHT_MAX = 256;
const REQUEST_TIMEOUT_MS = 20_000;
/**
 * A failed mutation is retried until this long after its first attempt: a gateway killed or cut off comes
 * back within seconds (5-minute runs, 2026-11-29: recovery at most 7.4 s). A mutation that gives up is
 * checked only for never appearing twice, not for appearing at all; with this window (and inputs valid
 * for the gateway they go through) a 5-minute run acknowledged 2,496 of 2,499. The in-flight limit is
 * sized for the mutations an outage keeps waiting.
 */
const RETRY_WINDOW_MS = 30_000;
const RETRY_PAUSE_MAX_MS = 3_000;
/** Distinct failure reasons kept (the rest are not counted). */
const FAILURE_REASONS_MAX = 50;
/** Legacy rows kept as update candidates per partner. */
const UPDATE_CANDIDATES_MAX = 2_000;

export interface LoadStats {
  apiAttempts: number;
  apiAcknowledged: number;
  apiFailedAfterRetries: number;
  apiRetries: number;
  apiSkipped: number;
  sqlInserts: number;
  sqlUpdates: number;
  sqlErrors: number;
  /** Why API attempts failed: the HTTP status and the first error's code or message, digits masked, by count. */
  readonly apiFailures: Map<string, number>;
  /** Acknowledged refs by owner partner (API and SQL inserts). */
  readonly acknowledged: Map<string, Set<string>>;
  /** Refs ever attempted by owner (acknowledged or not): anything else in a table is an invention. */
  readonly attempted: Map<string, Set<string>>;
}

export class LoadGenerator {
  readonly stats: LoadStats;
  private timers: NodeJS.Timeout[] = [];
  private inFlight = 0;
  private sequence = 0;
  private readonly pending = new Set<Promise<void>>();
  private readonly legacy = new Map<string, SqlClient>();
  private readonly legacyRows = new Map<string, string[]>();
  private stopped = false;
  /** One statement at a time per legacy session (a driver connection is not concurrent). */
  private readonly legacyQueue = new Map<string, Promise<void>>();

  private readonly network: ChaosNetwork;
  private readonly random: () => number;
  private readonly urls: ReadonlyMap<string, string>;

  constructor(network: ChaosNetwork, random: () => number, urls: ReadonlyMap<string, string>) {
    this.network = network;
    this.random = random;
    this.urls = urls;
    const empty = () => new Map(network.partners.map((p) => [p.spec.partner, new Set<string>()]));
    this.stats = { apiAttempts: 0, apiAcknowledged: 0, apiFailedAfterRetries: 0, apiRetries: 0, apiSkipped: 0, sqlInserts: 0, sqlUpdates: 0, sqlErrors: 0, apiFailures: new Map(), acknowledged: empty(), attempted: empty() };
  }

  async start(apiPerSecond: number, sqlPerSecond: number): Promise<void> {
    for (const partner of this.network.partners) {
      if (partner.spec.family === 'pglite') continue; // embedded: only its gateway process can open it
      this.legacy.set(partner.spec.partner, await this.openLegacy(partner));
      this.legacyRows.set(partner.spec.partner, []);
    }
    this.timers.push(setInterval(() => this.mutate(), 1000 / apiPerSecond));
    this.timers.push(setInterval(() => this.legacyWrite(), 1000 / sqlPerSecond));
  }

  /** Stops issuing; waits for what is in flight (bounded by the request timeout and retries). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    await Promise.all([...this.pending]);
    for (const client of this.legacy.values()) await client.close().catch(() => undefined);
  }

  private track(work: Promise<void>): void {
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }

  private mutate(): void {
    if (this.inFlight >= IN_FLIGHT_MAX) {
      this.stats.apiSkipped += 1;
      return;
    }
    const owner = this.pick(this.network.partners);
    const ref = `api-${owner.spec.partner}-${++this.sequence}`;
    const drawnStatus = this.random() < 0.5 ? 'shipped' : 'open';
    const amount = Math.floor(this.random() * 1000);
    // Retries go through the same gateway: an idempotency key is scoped to the caller's partner (a
    // forwarding gateway prefixes it with its own name), so another gateway would be another caller.
    const via = this.pick(this.network.partners).spec.partner;
    // A partner whose row rule shows it only shipped rows may create only those: anything else would be
    // refused on every attempt. The random draws stay the same, so a seed replays the same choices.
    const status = owner.spec.shippedOnlyFor.includes(via) ? 'shipped' : drawnStatus;
    this.stats.attempted.get(owner.spec.partner)!.add(ref);
    this.inFlight += 1;
    this.stats.apiAttempts += 1;
    this.track((async () => {
      try {
        const giveUpAt = Date.now() + RETRY_WINDOW_MS;
        for (let attempt = 0; attempt === 0 || Date.now() < giveUpAt; attempt++) {
          if (attempt > 0) {
            this.stats.apiRetries += 1;
            await new Promise((resolve) => setTimeout(resolve, Math.min(500 + attempt * 500, RETRY_PAUSE_MAX_MS)));
          }
          if (await this.createVia(via, owner, ref, status, amount)) {
            this.stats.apiAcknowledged += 1;
            this.stats.acknowledged.get(owner.spec.partner)!.add(ref);
            return;
          }
        }
        this.stats.apiFailedAfterRetries += 1;
      } finally {
        this.inFlight -= 1;
      }
    })());
  }

  private async createVia(gateway: string, owner: ChaosPartner, ref: string, status: string, amount: number): Promise<boolean> {
    const query = `mutation ($input: ${owner.spec.typeName}CreateInput!, $key: String!) { create${owner.spec.typeName}(input: $input, idempotencyKey: $key) { ledgerHeight } }`;
    // The note field is in the input only for partners that may read it (a field rule): through another
    // partner's gateway the mutation leaves it out, or every attempt would be refused as invalid input.
    const mayWriteNote = gateway === owner.spec.partner || owner.spec.noteReaders.includes(gateway);
    const variables = { input: { ref, origin: `api via ${gateway}`, amount, status, ...(mayWriteNote ? { note: `note ${ref}` } : {}) }, key: ref };
    try {
      const response = await fetch(`${this.urls.get(gateway)!}/graphql`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }), signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const body = (await response.json()) as { data?: Record<string, { ledgerHeight: number | null } | null> | null; errors?: { message?: string; extensions?: { code?: string } }[] };
      if (response.ok && body.errors === undefined && typeof body.data?.[`create${owner.spec.typeName}`]?.ledgerHeight === 'number') return true;
      const first = body.errors?.[0];
      this.noteFailure(`HTTP ${response.status} ${first?.extensions?.code ?? ''} ${first?.message ?? (body.errors === undefined ? 'no ledgerHeight in the answer' : '')}`);
      return false;
    } catch (error) {
      this.noteFailure(`no answer: ${(error as Error).name} ${(error as Error).message}`);
      return false;
    }
  }

  private noteFailure(reason: string): void {
    const key = reason.replace(/\d+/g, 'N').replace(/\s+/g, ' ').trim().slice(0, 160);
    if (!this.stats.apiFailures.has(key) && this.stats.apiFailures.size >= FAILURE_REASONS_MAX) return;
    this.stats.apiFailures.set(key, (this.stats.apiFailures.get(key) ?? 0) + 1);
  }

  private async openLegacy(partner: ChaosPartner): Promise<SqlClient> {
    const client = await openSqlClient(this.network, partner, LEGACY_APPLICATION_NAME);
    if (partner.spec.family === 'mariadb') {
      const [row] = await client.query('select connection_id() as id');
      legacyMariadbSessions.add(Number(row!['id']));
    }
    return client;
  }

  private legacyWrite(): void {
    if (this.stopped || this.legacy.size === 0) return;
    const name = this.pick([...this.legacy.keys()]);
    const partner = this.network.partners.find((p) => p.spec.partner === name)!;
    const client = this.legacy.get(name)!;
    const rows = this.legacyRows.get(name)!;
    const p = client.placeholder;
    const table = partner.spec.table;
    const previous = this.legacyQueue.get(name) ?? Promise.resolve();
    const next = previous.then(async () => {
      try {
        if (rows.length > 0 && this.random() < 0.3) {
          const ref = this.pick(rows);
          await client.query(`update ${table} set amount = amount + 1, status = case when status = 'shipped' then 'open' else 'shipped' end where ref = ${p(1)}`, [ref]);
          this.stats.sqlUpdates += 1;
          return;
        }
        const ref = `sql-${name}-${++this.sequence}`;
        this.stats.attempted.get(name)!.add(ref);
        await client.query(`insert into ${table} (ref, origin, amount, status, note) values (${p(1)}, 'legacy app', ${p(2)}, ${p(3)}, ${p(4)})`, [ref, Math.floor(this.random() * 1000), this.random() < 0.5 ? 'shipped' : 'open', `legacy ${ref}`]);
        this.stats.sqlInserts += 1;
        this.stats.acknowledged.get(name)!.add(ref);
        rows.push(ref);
        if (rows.length > UPDATE_CANDIDATES_MAX) rows.shift();
      } catch {
        this.stats.sqlErrors += 1;
      }
    });
    this.legacyQueue.set(name, next);
    this.track(next);
  }
}
