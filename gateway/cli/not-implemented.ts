import { EntenteError } from '../../common/errors.ts';

/** A command whose capability has not landed yet says so plainly, naming the issue that delivers it. */
export function notImplemented(command: string, issue: number): never {
  throw new EntenteError('NOT_IMPLEMENTED', `\`entente ${command}\` is not available yet (it lands with issue #${issue}).`);
}
