// Runs the `entente` command line in-process (main() with captured output), for tests of CLI commands.
import { main } from '../../gateway/cli/main.ts';

export async function runCli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text) });
  return { code, stdout, stderr };
}
