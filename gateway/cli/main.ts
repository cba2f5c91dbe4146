// The `entente` command line. Each command lives in its own module under ./commands and is registered
// here; `main` returns the exit code instead of calling process.exit so tests can drive it in-process.
// Exit codes: 0 success, 1 the operation failed (the message says why), 2 usage error.
import { Command, CommanderError } from 'commander';
import { isEntenteError } from '../../common/errors.ts';
import { registerCommands } from './commands.ts';

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

export function buildProgram(io: CliIo): Command {
  const program = new Command('entente')
    .description('Share live business data between companies: one verified ledger, one GraphQL API.')
    .version(packageVersion(), '-V, --version')
    .showHelpAfterError('(run `entente --help` to see the commands)')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride();
  registerCommands(program, io);
  for (const command of program.commands) command.exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  return program;
}

export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    return exitCodeFor(error, io);
  }
}

function exitCodeFor(error: unknown, io: CliIo): number {
  if (error instanceof CommanderError) {
    // Help and version requests arrive here as "errors" with exit code 0.
    if (error.exitCode === 0) return 0;
    return 2;
  }
  if (isEntenteError(error)) {
    io.stderr(`entente: ${error.message}\n`);
    return error.code === 'USAGE' ? 2 : 1;
  }
  throw error;
}

function packageVersion(): string {
  return process.env['npm_package_version'] ?? '0.1.0';
}
