/** The in-memory ports and other stand-ins that unit tests wire the domain to. */
export * from './fake-task-runner';
export * from './in-memory-job-queue';
export * from './in-memory-job-store';
export * from './in-memory-log-store';
export * from './job-records';
export * from './manual-clock';
export * from './silent-logger';
