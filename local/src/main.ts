import { StartupError } from '../../core/src/errors';
import { createLogger } from '../../core/src/logger';
import { readLocalConfig } from './local-config';
import { startLocalService } from './local-service';

const logger = createLogger('flare-local');

async function main(): Promise<void> {
  // On node < 22 the AWS SDK prints a many-line support notice to stderr at the first client,
  // burying Flare's one-line start-up errors; local mode's clients only reach the embedded
  // emulators. A value the user set is kept.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const config = readLocalConfig(process.env);
  const service = await startLocalService(config, logger);
  logger.info('flare is running', { apiUrl: service.apiUrl, dataDir: config.dataDir });

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('flare is stopping', { signal });
    void service.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  if (error instanceof StartupError) {
    // One line a person can act on, not a stack trace.
    process.stderr.write(`flare: ${error.message}\n`);
  } else {
    logger.error('flare failed to start', { error });
  }
  process.exit(1);
});
