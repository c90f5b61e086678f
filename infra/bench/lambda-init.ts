import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { deflateRawSync } from 'node:zlib';
import { summarise } from '../../bench/stats';

/**
 * Measures the route handler as `cdk synth` bundled it (run `npm run synth` first): the size
 * of the files in its package, and how long a fresh Node process takes to load it, which is
 * what a Lambda cold start adds to the runtime's own start. Prints a report to stdout.
 *
 *   npx tsx infra/bench/lambda-init.ts [cdk.out] [runs]
 */
const assemblyDir = process.argv[2] ?? 'cdk.out';
const runs = Number(process.argv[3] ?? 30);

/** What the handler reads at load; nothing here is called, so the values need only be valid. */
const HANDLER_ENV = {
  AWS_REGION: 'eu-west-1',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  FLARE_TABLE_NAME: 'flare-jobs',
  FLARE_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/flare-jobs',
  FLARE_LOG_BUCKET: 'flare-job-logs',
  FLARE_JOB_LOG_GROUP: '/flare/jobs',
  FLARE_LOG_LEVEL: 'WARN',
  FLARE_BASE_PATH: '/api/v1',
  FLARE_JWT_ISSUER: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_example',
  FLARE_JWKS_URI:
    'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_example/.well-known/jwks.json',
  FLARE_USERNAME_CLAIM: 'username',
  FLARE_GROUPS_CLAIM: 'cognito:groups',
};

/** Loads one module in this fresh process and reports ms since the process started. */
const LOADER = `
const before = performance.now();
await import(process.env.BENCH_MODULE);
const after = performance.now();
process.stdout.write(JSON.stringify({ importMs: after - before, sinceStartMs: after }));
`;

function main(): void {
  const dir = handlerAssetDir();
  const files = ['index.mjs', 'index.mjs.map'];
  const lines = [`Route handler package (${dir})`];
  let zipped = 0;
  for (const file of files) {
    const bytes = readFileSync(join(dir, file));
    const deflated = deflateRawSync(bytes, { level: 9 }).length;
    zipped += deflated;
    lines.push(
      `  ${file.padEnd(14)} ${kib(statSync(join(dir, file)).size)} (${kib(deflated)} deflated)`,
    );
  }
  lines.push(`  zip, about      ${kib(zipped)}`);

  const module = pathToFileURL(join(dir, 'index.mjs')).href;
  for (const route of ['health', 'create-job']) {
    for (const sourceMaps of [true, false]) {
      const samples = loadTimes(
        { ...HANDLER_ENV, FLARE_ROUTE: route, BENCH_MODULE: module },
        sourceMaps,
      );
      const label = `${route}${sourceMaps ? ', --enable-source-maps' : ''}`;
      lines.push(`Load ${label} (n=${runs})`, ...describe(samples));
    }
  }
  const bare = loadTimes({ BENCH_MODULE: 'data:text/javascript,' }, false);
  lines.push(`Empty module, for the cost of Node's own start (n=${runs})`, ...describe(bare));
  process.stdout.write(`${lines.join('\n')}\n`);
}

function loadTimes(env: Record<string, string>, sourceMaps: boolean) {
  const args = [
    ...(sourceMaps ? ['--enable-source-maps'] : []),
    '--input-type=module',
    '-e',
    LOADER,
  ];
  const samples: { importMs: number; sinceStartMs: number }[] = [];
  for (let run = 0; run < runs; run += 1) {
    const output = execFileSync(process.execPath, args, {
      env: { PATH: process.env.PATH ?? '', ...env },
      encoding: 'utf8',
    });
    samples.push(JSON.parse(output));
  }
  return samples;
}

function describe(samples: { importMs: number; sinceStartMs: number }[]): string[] {
  const show = (name: string, values: number[]) => {
    const summary = summarise(values);
    const min = Math.min(...values);
    return `  ${name.padEnd(28)} p50 ${ms(summary.p50Ms)}, min ${ms(min)}, p99 ${ms(summary.p99Ms)}`;
  };
  return [
    show(
      'import',
      samples.map((sample) => sample.importMs),
    ),
    show(
      'process start to loaded',
      samples.map((sample) => sample.sinceStartMs),
    ),
  ];
}

/** The directory of the route functions' code asset in the cloud assembly. */
function handlerAssetDir(): string {
  const template = readJson(join(assemblyDir, 'Flare.template.json')) as {
    Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
  };
  const routeFunction = Object.values(template.Resources).find(
    (resource) =>
      resource.Type === 'AWS::Lambda::Function' &&
      (resource.Properties.Environment as { Variables?: Record<string, string> } | undefined)
        ?.Variables?.FLARE_ROUTE !== undefined,
  );
  const key = (routeFunction?.Properties.Code as { S3Key?: string } | undefined)?.S3Key;
  const manifest = readJson(join(assemblyDir, 'Flare.assets.json')) as {
    files: Record<string, { source: { path: string } }>;
  };
  const asset = manifest.files[String(key).replace(/\.zip$/, '')];
  if (asset === undefined)
    throw new Error(`No route function asset in ${assemblyDir}: run npm run synth`);
  return join(assemblyDir, asset.source.path);
}

function readJson(file: string): unknown {
  return JSON.parse(readFileSync(file, 'utf8'));
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
const ms = (value: number) => `${value.toFixed(1)} ms`;

main();
