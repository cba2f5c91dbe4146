// Every `entente` command, one module each, so a command can grow without touching the others.
import type { Command } from 'commander';
import type { CliIo } from './main.ts';
import { registerDemo } from './commands/demo.ts';
import { registerInit } from './commands/init.ts';
import { registerIntrospect } from './commands/introspect.ts';
import { registerNode } from './commands/node.ts';
import { registerKeygen } from './commands/keygen.ts';
import { registerGenesis } from './commands/genesis.ts';
import { registerVerify } from './commands/verify.ts';
import { registerProof } from './commands/proof.ts';
import { registerCapture } from './commands/capture.ts';
import { registerSchema } from './commands/schema.ts';

export function registerCommands(program: Command, io: CliIo): void {
  registerDemo(program, io);
  registerNode(program, io);
  registerInit(program, io);
  registerIntrospect(program, io);
  registerKeygen(program, io);
  registerGenesis(program, io);
  registerVerify(program, io);
  registerProof(program, io);
  registerCapture(program, io);
  registerSchema(program, io);
}
