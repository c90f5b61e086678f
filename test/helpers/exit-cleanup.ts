/** A cleanup that must work synchronously: it may run while the process is on its way out. */
export type SyncCleanup = () => void;

const cleanups = new Set<SyncCleanup>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function runAll(): void {
  for (const cleanup of [...cleanups].reverse()) {
    cleanups.delete(cleanup);
    try {
      cleanup();
    } catch {
      // The process is ending; one failed cleanup must not keep the others from running.
    }
  }
}

let installed = false;

function install(): void {
  if (installed) return;
  installed = true;
  process.once('exit', runAll);
  // A signal ends node without its exit handlers. The services under test run in process
  // groups of their own, so an interrupt of the test run (Ctrl-C) would not reach them either.
  for (const signal of SIGNALS) {
    process.once(signal, () => {
      runAll();
      process.kill(process.pid, signal);
    });
  }
}

/**
 * Registers what the `after` hooks would have done, for when they cannot run: the test
 * process exits early or is interrupted. Returns the function that unregisters it, for the
 * hook to call once it has cleaned up itself.
 */
export function cleanUpOnExit(cleanup: SyncCleanup): () => void {
  install();
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}
