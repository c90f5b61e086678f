import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../core/src/logger';
import { readLocalConfig } from '../local/src/local-config';
import { startLocalService } from '../local/src/local-service';
import { measureListLatency } from './list-latency';
import { measureStartLatency } from './start-latency';
import { measureSubmitLatency } from './submit-latency';

/**
 * `npm run bench`: measures local Flare against the bare calls it makes, and prints one
 * report. Progress goes to stderr; the report to stdout. docs/performance.md records a run.
 */
async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const logger = createLogger('flare-bench');
  logger.setLogLevel('ERROR');
  const lines: string[] = [];

  const apiDir = await mkdtemp(join(tmpdir(), 'flare-bench-api-'));
  const apiOnly = await startLocalService(
    readLocalConfig({ FLARE_DATA_DIR: apiDir, PORT: '0', FLARE_WORKER: 'false' }),
    logger,
  );
  try {
    lines.push(...(await measureSubmitLatency(apiOnly, apiDir)));
    lines.push(...(await measureListLatency(apiOnly, apiDir)));
  } finally {
    await apiOnly.stop();
    await rm(apiDir, { recursive: true, force: true });
  }

  const fullDir = await mkdtemp(join(tmpdir(), 'flare-bench-full-'));
  const full = await startLocalService(
    readLocalConfig({ FLARE_DATA_DIR: fullDir, PORT: '0', FLARE_STATUS_POLL_MS: '200' }),
    logger,
  );
  try {
    lines.push(...(await measureStartLatency(full, fullDir)));
  } finally {
    await full.stop();
    await rm(fullDir, { recursive: true, force: true });
  }

  process.stdout.write(`\nFlare local benchmark (${new Date().toISOString()})\n`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
