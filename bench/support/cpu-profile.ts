// Reads the .cpuprofile files `node --cpu-prof` wrote and lists the functions with the most self time,
// so a benchmark can say where its server spends the CPU without opening a profiler.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
}

export interface HotSpot {
  readonly name: string;
  readonly location: string;
  readonly selfPercent: number;
}

export function summarizeCpuProfiles(directory: string, count: number): HotSpot[] {
  const selfSamples = new Map<string, { name: string; location: string; samples: number }>();
  let total = 0;
  for (const file of readdirSync(directory).filter((name) => name.endsWith('.cpuprofile'))) {
    const profile = JSON.parse(readFileSync(join(directory, file), 'utf8')) as CpuProfile;
    const byId = new Map(profile.nodes.map((node) => [node.id, node]));
    for (const id of profile.samples) {
      const frame = byId.get(id)?.callFrame;
      if (frame === undefined) continue;
      total += 1;
      const location = frame.url === '' ? '(native)' : `${shortPath(frame.url)}:${frame.lineNumber + 1}`;
      const key = `${frame.functionName}|${location}`;
      const entry = selfSamples.get(key) ?? { name: frame.functionName || '(anonymous)', location, samples: 0 };
      entry.samples += 1;
      selfSamples.set(key, entry);
    }
  }
  return [...selfSamples.values()]
    .sort((a, b) => b.samples - a.samples)
    .slice(0, count)
    .map((entry) => ({ name: entry.name, location: entry.location, selfPercent: Math.round((entry.samples / Math.max(1, total)) * 1000) / 10 }));
}

function shortPath(url: string): string {
  const path = url.replace(/^file:\/\//, '');
  const nodeModules = path.lastIndexOf('node_modules/');
  if (nodeModules >= 0) return path.slice(nodeModules + 'node_modules/'.length);
  return relative(process.cwd(), path);
}
