// What every result file states about the run: the machine, Node, the date and the load average (the
// machine is shared, so a figure means little without how busy it was), and where results are written.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, totalmem } from 'node:os';
import { round } from './stats.ts';

export interface MachineFacts {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  readonly loadAverage: readonly number[];
}

export function machineFacts(): MachineFacts {
  return { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGiB: round(totalmem() / 2 ** 30, 1), os: `${platform()} ${release()}`, node: process.version, loadAverage: loadAverageNow() };
}

export function loadAverageNow(): number[] {
  return loadavg().map((value) => round(value, 1));
}

export function machineLine(machine: MachineFacts): string {
  return `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node}; load average (1/5/15 min) ${machine.loadAverage.join(' / ')}.`;
}

/** Writes bench/results/<name>-<day>.json and .md. */
export function writeResultFiles(name: string, date: string, results: unknown, markdown: string): void {
  const directory = new URL('../results/', import.meta.url);
  mkdirSync(directory, { recursive: true });
  const day = date.slice(0, 10);
  writeFileSync(new URL(`${name}-${day}.json`, directory), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(new URL(`${name}-${day}.md`, directory), markdown.endsWith('\n') ? markdown : `${markdown}\n`);
  console.log(`results: bench/results/${name}-${day}.json and .md`);
}
