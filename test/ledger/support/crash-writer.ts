// Child process of the crash test and soak: copies blocks from a source store into a target store, one
// durable append at a time, printing "ack <height>" only after each append resolved. The parent kills it
// with SIGKILL at random moments; every acknowledged height must survive.
import { decodeBlock } from '../../../ledger/block.ts';
import { nodeHasher } from '../../../ledger/crypto/sha256-node.ts';
import { SegmentBlockStore } from '../../../ledger/store/segment-store.ts';

const [sourceDir, targetDir] = process.argv.slice(2);
if (sourceDir === undefined || targetDir === undefined) throw new Error('usage: crash-writer <sourceDir> <targetDir>');
const source = await SegmentBlockStore.open(sourceDir, { readOnly: true });
const target = await SegmentBlockStore.open(targetDir);
process.stdout.write(`ready ${target.head().height}\n`);
for (let height = target.head().height + 1; height <= source.head().height; height++) {
  const block = decodeBlock((await source.readBody(height))!);
  await target.append(block, nodeHasher.sha256(block.headerBytes));
  process.stdout.write(`ack ${height}\n`);
}
await target.close();
await source.close();
process.stdout.write('done\n');
