// One schema version from disk, for `entente schema diff` and `check`: a folder of partner files
// (`<partner>.graphql`, the network's schema directory) or one partner's file, composed with the network's
// partner list so grants naming other partners resolve.
import { readFile, stat } from 'node:fs/promises';
import { basename, relative } from 'node:path';
import { EntenteError } from '../../common/errors.ts';
import { composeSchemas, type PartnerSchemaFile } from '../compose.ts';
import type { UnifiedSchema } from '../policy.ts';
import { loadPartnerSchemaFiles, schemaFileSuffix } from '../schema-files.ts';

export interface SchemaVersionFiles {
  readonly files: readonly PartnerSchemaFile[];
  readonly unified: UnifiedSchema;
}

export interface LoadSchemaVersionOptions {
  /** The network's partners (genesis members); default: the partners of the files. */
  readonly partners?: readonly string[];
  /** For a single file: the partner it belongs to; default: the file name without .graphql. */
  readonly partner?: string;
}

export async function loadSchemaVersion(path: string, options: LoadSchemaVersionOptions = {}): Promise<SchemaVersionFiles> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch (error) {
    throw new EntenteError('USAGE', `Cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}. Pass a partner schema file or the folder of partner files.`, { cause: error });
  }
  const files = isDirectory ? await loadPartnerSchemaFiles(path) : [await singleFile(path, options.partner)];
  if (files.length === 0) throw new EntenteError('USAGE', `${path} holds no ${schemaFileSuffix} files; pass the folder of partner schema files (<partner>${schemaFileSuffix}).`);
  const unified = composeSchemas(files, options.partners === undefined ? {} : { partners: options.partners });
  return { files, unified };
}

async function singleFile(path: string, partner: string | undefined): Promise<PartnerSchemaFile> {
  const name = partner ?? basename(path).replace(/\.graphql$/, '');
  return { path: relative(process.cwd(), path) || path, partner: name, source: await readFile(path, 'utf8') };
}
