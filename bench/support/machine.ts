// What every result file states about the run: the machine, Node, the date and the load average (the
// machine is shared, so a figure means little without how busy it was), and where results are written.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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

/**
 * The name (without extension) of a benchmark's results files for a day: `<name>-<day>`, or with
 * BENCH_RESULTS_TAG set `<name>-<day>-<tag>`, so a second machine's figures of the same day (or another
 * setup's) sit beside the first ones instead of replacing them. `name` '' names `npm run bench`'s summary.
 */
export function resultStem(name: string, date: string): string {
  const tag = (process.env['BENCH_RESULTS_TAG'] ?? '').replace(/[^A-Za-z0-9._-]/g, '-');
  return `${name === '' ? '' : `${name}-`}${date.slice(0, 10)}${tag === '' ? '' : `-${tag}`}`;
}

/** Writes bench/results/<resultStem>.json and .md. */
export function writeResultFiles(name: string, date: string, results: unknown, markdown: string): void {
  const directory = new URL('../results/', import.meta.url);
  mkdirSync(directory, { recursive: true });
  const stem = resultStem(name, date);
  writeFileSync(new URL(`${stem}.json`, directory), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(new URL(`${stem}.md`, directory), markdown.endsWith('\n') ? markdown : `${markdown}\n`);
  console.log(`results: bench/results/${stem}.json and .md`);
}

/** utime + stime of a process from /proc/<pid>/stat (clock ticks of 1/100 s on Linux), seconds; NaN elsewhere. */
export function cpuSecondsOf(pid: number): number {
  return cpuSecondsFrom(`/proc/${pid}/stat`);
}

/**
 * utime + stime of a process's main thread alone, seconds; NaN elsewhere. For a Node process the rest of
 * cpuSecondsOf is its helper threads: V8's compiler and garbage collector, libuv's pool (fdatasync).
 */
export function mainThreadCpuSecondsOf(pid: number): number {
  return cpuSecondsFrom(`/proc/${pid}/task/${pid}/stat`);
}

function cpuSecondsFrom(path: string): number {
  try {
    const stat = readFileSync(path, 'utf8');
    // Fields after the command name (which may hold spaces) start at ") ": state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}
