// Partner schema files on disk: `<dir>/<partner>.graphql`, one per partner, the partner named by the
// file. Sorted by name so composition sees them in the same order on every machine.
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { EntenteError } from '../common/errors.ts';
import type { PartnerSchemaFile } from './compose.ts';

export const schemaFileSuffix = '.graphql';
export const schemaFilesMax = 256;

export async function loadPartnerSchemaFiles(dir: string, shownRelativeTo = process.cwd()): Promise<PartnerSchemaFile[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    throw new EntenteError('CONFIG_INVALID', `Cannot read the schema directory ${dir}: ${(error as Error).message}. Run \`entente init\` to create it.`, { cause: error });
  }
  const files = names.filter((name) => name.endsWith(schemaFileSuffix)).sort();
  if (files.length > schemaFilesMax) throw new EntenteError('LIMIT_EXCEEDED', `${dir} holds ${files.length} schema files; at most ${schemaFilesMax} partners are supported.`);
  return Promise.all(files.map(async (name) => {
    const path = join(dir, name);
    return { path: relative(shownRelativeTo, path) || name, partner: name.slice(0, -schemaFileSuffix.length), source: await readFile(path, 'utf8') };
  }));
}
