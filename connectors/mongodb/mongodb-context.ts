// What the MongoDB connector's parts (reads and writes, capture, replica) share: the client, the
// database, what the server can do, and a counter of commands sent (the contract's statementCount).
import type { ClientSession, Db, MongoClient } from 'mongodb';
import { MongoServerError } from 'mongodb';
import { EntenteError } from '../../common/errors.ts';

export type Topology = 'standalone' | 'replica-set' | 'sharded';

export interface ServerFacts {
  readonly version: string;
  /** [major, minor] */
  readonly versionParts: readonly [number, number];
  readonly topology: Topology;
  readonly user: string;
}

export interface MongoContext {
  readonly client: MongoClient;
  readonly db: Db;
  readonly server: ServerFacts;
  /** Call once per command sent to the server. */
  counted(): void;
}

/** Multi-document transactions: replica sets from 4.0, sharded clusters from 4.2. */
export function supportsTransactions(server: ServerFacts): boolean {
  const [major, minor] = server.versionParts;
  if (server.topology === 'replica-set') return major >= 4;
  if (server.topology === 'sharded') return major > 4 || (major === 4 && minor >= 2);
  return false;
}

export function atLeast(server: ServerFacts, major: number, minor = 0): boolean {
  const [haveMajor, haveMinor] = server.versionParts;
  return haveMajor > major || (haveMajor === major && haveMinor >= minor);
}

/** Runs `work` in one multi-document transaction when the server has them, else directly (documented). */
export async function inTransaction<T>(context: MongoContext, work: (session: ClientSession | undefined) => Promise<T>): Promise<T> {
  if (!supportsTransactions(context.server)) return work(undefined);
  const session = context.client.startSession();
  try {
    let result: T | undefined;
    // withTransaction retries the callback on transient errors; `work` must be re-runnable (it is: every
    // caller rebuilds its results from scratch on each attempt).
    await session.withTransaction(async () => {
      result = await work(session);
    });
    return result as T;
  } finally {
    await session.endSession();
  }
}

export const duplicateKeyCode = 11000;

/** Driver errors as EntenteErrors where the cause is an operating condition with a known fix. */
export function translateDriverError(error: unknown, action: string): unknown {
  if (error instanceof EntenteError) return error;
  if (error instanceof MongoServerError) {
    if (error.code === duplicateKeyCode) {
      return new EntenteError('DB_CONFLICT', `${action} failed: a document with the same key already exists (${error.message}).`, { cause: error });
    }
    if (error.code === 13 || error.codeName === 'Unauthorized') {
      return new EntenteError('DB_PRIVILEGE_MISSING', `${action} failed: the MongoDB user lacks a privilege (${error.message}). Grant it the readWrite role on the database (and changeStream/find for capture).`, { cause: error });
    }
    if (error.code === 121) {
      return new EntenteError('USAGE', `${action} failed: the document does not satisfy the collection's $jsonSchema validator (${error.message}).`, { cause: error });
    }
  }
  return error;
}
