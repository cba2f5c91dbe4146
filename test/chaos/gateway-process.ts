// One partner's gateway as a real process (`entente node --config`), which the controller can kill,
// freeze, thaw and restart. Its output goes to a log file that survives restarts; lines reporting
// consensus evidence or rejected peer messages are counted as they arrive (what the Byzantine check reads).
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
/** Output kept in memory for a failure report; the log file has everything. */
const TAIL_CHARS_MAX = 20_000;

export interface PeerEventCounts {
  /** Equivocation evidence by the sender's membership index. */
  readonly evidenceBySender: Map<number, number>;
  /** Rejected consensus messages by reason prefix (transport rejections have from = -1). */
  readonly rejectedByReason: Map<string, number>;
}

export class GatewayProcess {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private tail = '';
  private partial = '';
  private readonly log: WriteStream;
  readonly events: PeerEventCounts = { evidenceBySender: new Map(), rejectedByReason: new Map() };
  starts = 0;
  frozen = false;

  readonly partner: string;
  readonly configFile: string;
  readonly url: string;

  constructor(partner: string, configFile: string, url: string, logFile: string) {
    this.partner = partner;
    this.configFile = configFile;
    this.url = url;
    this.log = createWriteStream(logFile, { flags: 'a' });
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  output(): string {
    return this.tail;
  }

  /** Spawns the process and resolves once it listens (or rejects with its output). */
  async start(timeoutMs: number): Promise<void> {
    this.starts += 1;
    this.tail = '';
    const child = spawn(process.execPath, ['bin/entente.js', 'node', '--config', this.configFile], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.frozen = false;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    let listening = false;
    const onData = (chunk: Buffer): void => {
      const text = chunk.toString('utf8');
      this.log.write(text);
      this.tail = (this.tail + text).slice(-TAIL_CHARS_MAX);
      if (!listening && /listening on http/.test(this.tail)) listening = true;
      this.scan(text);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    const deadline = Date.now() + timeoutMs;
    while (!listening) {
      if (!this.running) throw new Error(`${this.partner}'s gateway exited during start-up:\n${this.tail}`);
      if (Date.now() > deadline) throw new Error(`${this.partner}'s gateway did not listen within ${timeoutMs} ms:\n${this.tail}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  signal(name: NodeJS.Signals): void {
    if (this.child === null || !this.running) return;
    this.child.kill(name);
    if (name === 'SIGSTOP') this.frozen = true;
    if (name === 'SIGCONT') this.frozen = false;
  }

  async kill(): Promise<void> {
    if (this.frozen) this.signal('SIGCONT');
    this.signal('SIGKILL');
    await this.exited;
  }

  /** SIGINT and wait (the clean shutdown path); SIGKILL after `timeoutMs`. */
  async stop(timeoutMs: number): Promise<number | null> {
    const child = this.child;
    if (child === null || !this.running) return child?.exitCode ?? null;
    if (this.frozen) this.signal('SIGCONT');
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
    return child.exitCode;
  }

  async closeLog(): Promise<void> {
    await new Promise<void>((resolve) => this.log.end(() => resolve()));
  }

  /** Counts the pino lines ledger-runtime.ts writes for peer events ("consensus: …"). */
  private scan(text: string): void {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.includes('"consensus: ')) continue;
      let parsed: { event?: { kind?: string; detail?: string; reason?: string } };
      try {
        parsed = JSON.parse(line) as typeof parsed;
      } catch {
        continue;
      }
      const event = parsed.event;
      if (event?.kind === 'evidence' && typeof event.detail === 'string') {
        const sender = (JSON.parse(event.detail) as { sender?: number }).sender ?? -1;
        this.events.evidenceBySender.set(sender, (this.events.evidenceBySender.get(sender) ?? 0) + 1);
      } else if (event?.kind === 'rejected' && typeof event.reason === 'string') {
        const reason = event.reason.replace(/\d+/g, 'N').slice(0, 60);
        this.events.rejectedByReason.set(reason, (this.events.rejectedByReason.get(reason) ?? 0) + 1);
      }
    }
  }
}
