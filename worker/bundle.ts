import { stat } from 'node:fs/promises';
import { build } from 'esbuild';

/**
 * Bundles the Fargate worker into one ESM file, dist/worker.mjs, which is all its container
 * image holds besides Node. Run from the repository root (`npm run bundle:worker`); the
 * worker's Dockerfile runs the same script.
 */
const OUTFILE = 'dist/worker.mjs';

await build({
  entryPoints: ['worker/src/main.ts'],
  outfile: OUTFILE,
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  // Parts of the AWS SDK and Powertools are CommonJS and call `require` for Node's own modules,
  // which an ESM bundle has no `require` for unless it makes one.
  banner: {
    js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
  },
});
const { size } = await stat(OUTFILE);
process.stdout.write(`${OUTFILE}: ${(size / 1024).toFixed(0)} KiB\n`);
