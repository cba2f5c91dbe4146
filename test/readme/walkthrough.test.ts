// Goal: the README's "Five-minute walkthrough" is executable, not aspirational (issue #8 acceptance 3):
// every shell and GraphQL block it marks with <!-- walkthrough:step … --> runs as written, in order, and
// shows what the marker promises; no block in the section is left unmarked.
// Method: the blocks are read out of README.md and run with bash in a scratch folder against the real
// demo network and a real PostgreSQL database. Marker attributes: `background` keeps a command running
// (until="…" is the output that says it is up; expect="…" must show up in its output by the end),
// `graphql endpoint="…"` posts the block to that URL (again each second for up to within="<s>" seconds
// when the answer arrives through the ledger), `expect="…"` must appear in the output.
// Only what isolation needs is rewritten, nothing else:
//   - `npm start` runs the package.json start script with its default data folder (here in the scratch
//     folder) and `--port 0`; `npx entente` runs the project's bin/entente.js (the scratch folder is
//     not the project folder);
//   - ports are free ones: the README's localhost:4001… are mapped to the ports the demo printed, and a
//     gateway configuration's port 4000 is set to 0 before it starts, then mapped to the one it printed;
//   - `postgres://postgres@localhost:5432/shop` is a fresh database made for this run.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { defaultBasePort, demoPartners } from '../../gateway/demo/partners.ts';
import { describeWithPostgres } from '../support/databases.ts';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
const sectionTitle = '## Five-minute walkthrough';
const readmeDatabaseUrl = 'postgres://postgres@localhost:5432/shop';
// The demo's first start creates four PGlite databases; on a loaded 2-core machine that takes a while.
const backgroundStartMsMax = 180_000;
const stepMsMax = 120_000;
const laterExpectMsMax = 20_000;

interface Step {
  readonly language: string;
  readonly code: string;
  readonly attributes: Readonly<Record<string, string | true>>;
}

/** The marked blocks of the walkthrough section, in order; throws on a fenced block without a marker. */
function walkthroughSteps(readme: string): Step[] {
  const start = readme.indexOf(`\n${sectionTitle}\n`);
  if (start < 0) throw new Error(`README.md has no "${sectionTitle}" section`);
  const end = readme.indexOf('\n## ', start + sectionTitle.length + 2);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const steps: Step[] = [];
  const fence = /(?:<!-- walkthrough:step((?:[^-]|-(?!->))*)-->\s*\n)?```(\w*)\n([\s\S]*?)\n```/g;
  for (const match of section.matchAll(fence)) {
    if (match[1] === undefined) throw new Error(`a ${match[2] || 'plain'} block in the walkthrough has no <!-- walkthrough:step --> marker:\n${match[3]}`);
    steps.push({ language: match[2]!, code: match[3]!, attributes: parseAttributes(match[1]) });
  }
  return steps;
}

function parseAttributes(text: string): Record<string, string | true> {
  const attributes: Record<string, string | true> = {};
  for (const match of text.matchAll(/([a-z-]+)(?:="((?:[^"\\]|\\.)*)")?/g)) attributes[match[1]!] = match[2] === undefined ? true : match[2].replace(/\\(.)/g, '$1');
  return attributes;
}

interface Running {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
  readonly expectLater: string | null;
}

class Walkthrough {
  readonly ports = new Map<number, number>();
  readonly background: Running[] = [];
  private pendingConfigPort: number | null = null;
  private readonly scratch: string;
  private readonly databaseUrl: string;
  private readonly startScript: string;

  constructor(scratch: string, databaseUrl: string, startScript: string) {
    this.scratch = scratch;
    this.databaseUrl = databaseUrl;
    this.startScript = startScript;
  }

  rewrite(code: string): string {
    return code
      .replace(/^npm start$/m, `${this.startScript} --data .entente/demo --port 0`)
      .replace(/\bnpx entente\b/g, `node ${join(projectRoot, 'bin/entente.js')}`)
      .replaceAll(readmeDatabaseUrl, this.databaseUrl)
      .replace(/localhost:(\d+)/g, (whole, port: string) => {
        const actual = this.ports.get(Number(port));
        return actual === undefined ? whole : `localhost:${actual}`;
      });
  }

  /** A gateway configuration written by a step listens on a fixed port; give it a free one instead. */
  async isolateConfigPorts(): Promise<void> {
    for (const entry of await readdir(this.scratch, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const file = join(this.scratch, entry.name, 'entente.config.json');
      const text = await readFile(file, 'utf8').catch(() => null);
      if (text === null) continue;
      const config = JSON.parse(text) as { listen?: { port?: number } };
      if (config.listen?.port === undefined || config.listen.port === 0) continue;
      this.pendingConfigPort = config.listen.port;
      config.listen.port = 0;
      await writeFile(file, JSON.stringify(config, null, 2));
    }
  }

  /** Learns the real ports from what a background command printed. */
  learnPorts(output: string): void {
    for (const match of output.matchAll(/^\s+([a-z-]+)\s+http:\/\/localhost:(\d+)\/graphql/gm)) {
      const partner = demoPartners.find((candidate) => candidate.name === match[1]);
      if (partner !== undefined) this.ports.set(defaultBasePort + partner.portOffset, Number(match[2]));
    }
    const node = /listening on http:\/\/localhost:(\d+)\/graphql/.exec(output);
    if (node !== null && this.pendingConfigPort !== null) {
      this.ports.set(this.pendingConfigPort, Number(node[1]));
      this.pendingConfigPort = null;
    }
  }

  spawnBash(code: string): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
    const child = spawn('bash', ['-e', '-c', code], {
      cwd: this.scratch,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      // `require('graphql-ws')` in a `node -e` step resolves from the project, as it does when run there.
      env: { ...process.env, NODE_PATH: join(projectRoot, 'node_modules'), FORCE_COLOR: '0' },
    });
    let text = '';
    child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return { child, output: () => text, exited };
  }

  async run(step: Step, index: number): Promise<void> {
    await this.isolateConfigPorts();
    const label = `step ${index + 1} (${step.language}): ${step.code.split('\n')[0]}`;
    const expected = typeof step.attributes['expect'] === 'string' ? step.attributes['expect'] : null;
    if (step.language === 'graphql') {
      const endpoint = this.rewrite(String(step.attributes['endpoint']));
      // within="<seconds>": the answer is expected to show up by then (data arriving through the ledger).
      const deadline = Date.now() + Number(step.attributes['within'] ?? 0) * 1000;
      for (;;) {
        const response = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: step.code }) });
        const text = await response.text();
        expect(response.status, `${label}\n${text}`).toBe(200);
        expect((JSON.parse(text) as { errors?: unknown }).errors, `${label}\n${text}`).toBeUndefined();
        if (expected === null || text.includes(expected) || Date.now() > deadline) {
          if (expected !== null) expect(text, label).toContain(expected);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    }
    expect(step.language, label).toBe('sh');
    const started = this.spawnBash(this.rewrite(step.code));
    if (step.attributes['background'] === true) {
      const until = String(step.attributes['until']);
      await waitForOutput(started, until, backgroundStartMsMax, label);
      this.learnPorts(started.output());
      this.background.push({ ...started, expectLater: expected });
      await new Promise((resolve) => setTimeout(resolve, 500)); // a subscription reaches the gateway just after it says so
      return;
    }
    const code = await Promise.race([started.exited, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), stepMsMax))]);
    if (code === 'timeout') started.child.kill('SIGKILL');
    expect(code, `${label}\n${started.output()}`).toBe(0);
    if (expected !== null) expect(started.output(), label).toContain(expected);
  }

  async checkBackgroundExpectations(): Promise<void> {
    for (const running of this.background) {
      if (running.expectLater !== null) await waitForOutput(running, running.expectLater, laterExpectMsMax, 'a background step');
    }
  }

  /** Ctrl-C for every background command, as the reader would press it. */
  async stopAll(): Promise<void> {
    for (const running of [...this.background].reverse()) {
      if (running.child.exitCode !== null || running.child.pid === undefined) continue;
      signalGroup(running.child.pid, 'SIGINT');
      const stopped = await Promise.race([running.exited.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 20_000))]);
      if (!stopped) signalGroup(running.child.pid, 'SIGKILL');
    }
  }
}

/** Signals the process group a step started (bash and what it runs); a group already gone is fine. */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

async function waitForOutput(running: { output: () => string; child: ChildProcess }, text: string, timeoutMs: number, label: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!running.output().includes(text)) {
    if (running.child.exitCode !== null) throw new Error(`${label} exited with ${running.child.exitCode} before printing "${text}":\n${running.output()}`);
    if (Date.now() > deadline) throw new Error(`${label} did not print "${text}" within ${timeoutMs} ms:\n${running.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function startScript(): Promise<string> {
  const manifest = JSON.parse(await readFile(join(projectRoot, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const words = manifest.scripts.start.split(/\s+/);
  expect(words[0]).toBe('node');
  return ['node', join(projectRoot, words[1]!), ...words.slice(2)].join(' ');
}

describeWithPostgres('the README walkthrough', (db) => {
  let walkthrough: Walkthrough | null = null;
  let scratch: string | null = null;

  afterAll(async () => {
    await walkthrough?.stopAll();
    if (scratch !== null) await rm(scratch, { recursive: true, force: true });
  });

  it('marks every block of the section, with at least the demo, a query, a subscription, init, keygen, genesis and a node', async () => {
    const steps = walkthroughSteps(await readFile(join(projectRoot, 'README.md'), 'utf8'));
    const text = steps.map((step) => step.code).join('\n');
    for (const needed of ['npm start', 'partOrders', 'subscription', 'npx entente init --db', 'npx entente keygen', 'npx entente genesis', 'npx entente node']) expect(text).toContain(needed);
  });

  it('runs as written: demo, cross-partner query, live subscription, init on PostgreSQL, keys, genesis, own gateway', { timeout: 600_000 }, async () => {
    const steps = walkthroughSteps(await readFile(join(projectRoot, 'README.md'), 'utf8'));
    scratch = await mkdtemp(join(tmpdir(), 'entente-walkthrough-'));
    walkthrough = new Walkthrough(scratch, db.url, await startScript());
    for (const [index, step] of steps.entries()) await walkthrough.run(step, index);
    await walkthrough.checkBackgroundExpectations();
    const demo = walkthrough.background[0]!;
    await walkthrough.stopAll();
    expect(await demo.exited).toBe(0);
    expect(demo.output()).toContain('Stopped.');
  });
});
