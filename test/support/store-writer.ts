/**
 * A second process writing to a local store, for the concurrent-writer tests: opens the store,
 * prints "ready", waits for a line on stdin, then upserts `batches` transactions of `size`
 * chunks named after `name`, and prints "done". Usage: store-writer.ts <dir> <name> <batches> <size>
 */
import { createInterface } from 'node:readline';
import { LocalStore } from '../../src/stores/local/index.js';

const [dir, name, batches, size] = process.argv.slice(2);
const store = await LocalStore.open({ dir: dir! });
process.stdout.write('ready\n');
const lines = createInterface({ input: process.stdin });
await new Promise<void>((resolve) => lines.once('line', () => resolve()));
lines.close();
for (let batch = 0; batch < Number(batches); batch++) {
  await store.upsert(
    Array.from({ length: Number(size) }, (_, i) => ({
      id: `${name}-${batch}-${i}`,
      text: `Batch ${batch} item ${i} written by ${name}.`,
      source: `${name}.md`,
      metadata: {},
    })),
  );
}
store.close();
process.stdout.write('done\n');
