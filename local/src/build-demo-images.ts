import { DockerClient } from '../../adapters/docker/docker-client';
import { createLogger } from '../../core/src/logger';
import { connectContainerEngine } from './container-engine';
import { BUSYBOX_IMAGE, ensureDemoImages, TESTPI_IMAGE } from './demo-images';
import { readLocalConfig } from './local-config';

/** `npm run images`: builds the demo images into the engine `npm start` would use. */
async function main(): Promise<void> {
  const config = readLocalConfig(process.env);
  const logger = createLogger('flare-images');
  const engine = await connectContainerEngine({ dataDir: config.dataDir, logger });
  try {
    await ensureDemoImages(new DockerClient(engine));
    process.stdout.write(`Built ${TESTPI_IMAGE} and ${BUSYBOX_IMAGE}\n`);
  } finally {
    await engine.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`flare images: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
