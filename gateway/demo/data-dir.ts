// The demo's data directory: one folder per partner (`<dir>/<partner>/`, with the ledger in
// `<dir>/<partner>/ledger`), and a marker file at the top naming the network. `--fresh` deletes the
// directory only if the marker proves it is a demo directory (or it is empty), so a mistyped --data can
// never wipe unrelated files.
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EntenteError } from '../../common/errors.ts';
import type { DemoPartner } from './partners.ts';

export const markerFile = 'entente-demo.json';
const markerFormat = 'entente-demo/1';

export interface DemoDataDir {
  readonly root: string;
  readonly createdAt: string;
  /** True when this run created the directory (first start or --fresh). */
  readonly created: boolean;
  partnerDir(partner: string): string;
  ledgerDir(partner: string): string;
}

export async function prepareDataDir(root: string, partners: readonly DemoPartner[], fresh: boolean): Promise<DemoDataDir> {
  const existing = await readMarker(root);
  if (fresh) {
    const entries = await readdir(root).catch(() => [] as string[]);
    if (entries.length > 0 && existing === null) {
      throw new EntenteError('USAGE', `--fresh would delete ${root}, but it is not an Entente demo directory (no ${markerFile}). Choose another --data directory.`);
    }
    await rm(root, { recursive: true, force: true });
  }
  const marker = fresh ? null : existing;
  const createdAt = marker?.createdAt ?? new Date().toISOString();
  for (const partner of partners) await mkdir(join(root, partner.name, 'ledger'), { recursive: true });
  if (marker === null) {
    await writeFile(join(root, markerFile), JSON.stringify({ format: markerFormat, createdAt, partners: partners.map((partner) => partner.name) }, null, 2) + '\n');
  }
  return {
    root,
    createdAt,
    created: marker === null,
    partnerDir: (partner) => join(root, partner),
    ledgerDir: (partner) => join(root, partner, 'ledger'),
  };
}

async function readMarker(root: string): Promise<{ readonly createdAt: string } | null> {
  try {
    const parsed = JSON.parse(await readFile(join(root, markerFile), 'utf8')) as { format?: unknown; createdAt?: unknown };
    return parsed.format === markerFormat && typeof parsed.createdAt === 'string' ? { createdAt: parsed.createdAt } : null;
  } catch {
    return null;
  }
}
