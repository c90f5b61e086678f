import { Logger } from '@aws-lambda-powertools/logger';

/**
 * A logger that writes nothing, so test output shows only test results. Set FLARE_TEST_LOGS
 * to see the domain's logs while debugging a test.
 */
export function silentLogger(): Logger {
  return new Logger({
    serviceName: 'flare-test',
    logLevel: process.env.FLARE_TEST_LOGS === undefined ? 'SILENT' : 'DEBUG',
  });
}
