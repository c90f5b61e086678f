import { readdirSync, readFileSync } from 'node:fs';

/** One process as /proc shows it. */
export interface ProcessEntry {
  readonly pid: number;
  readonly ppid: number;
  readonly pgid: number;
  /** One letter: R running, S sleeping, Z exited but not yet reaped, and so on. */
  readonly state: string;
  /** The argument vector joined with spaces. */
  readonly command: string;
}

/** Every process this user can see, read from /proc (Linux only, as the e2e tests are). */
export function listProcesses(): ProcessEntry[] {
  const entries: ProcessEntry[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const entry = readEntry(Number(name));
    if (entry !== undefined) entries.push(entry);
  }
  return entries;
}

/** The processes below `pid`, each with how many generations down it is. */
export function descendantsOf(pid: number): (ProcessEntry & { readonly depth: number })[] {
  const byParent = new Map<number, ProcessEntry[]>();
  for (const entry of listProcesses()) {
    const siblings = byParent.get(entry.ppid) ?? [];
    siblings.push(entry);
    byParent.set(entry.ppid, siblings);
  }
  const found: (ProcessEntry & { depth: number })[] = [];
  const visit = (parent: number, depth: number): void => {
    for (const child of byParent.get(parent) ?? []) {
      found.push({ ...child, depth });
      visit(child.pid, depth + 1);
    }
  };
  visit(pid, 1);
  return found;
}

/** The live processes in process group `pgid`, leader or not; zombies are already gone. */
export function groupMembers(pgid: number): ProcessEntry[] {
  return listProcesses().filter((entry) => entry.pgid === pgid && entry.state !== 'Z');
}

/** Sends `signal` to each live member of the group, by pid; returns how many it reached. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): number {
  let reached = 0;
  for (const member of groupMembers(pgid)) {
    try {
      process.kill(member.pid, signal);
      reached += 1;
    } catch {
      // Exited between the listing and the signal: nothing left to end.
    }
  }
  return reached;
}

function readEntry(pid: number): ProcessEntry | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name in parentheses may itself hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return {
      pid,
      state: fields[0] ?? '',
      ppid: Number(fields[1]),
      pgid: Number(fields[2]),
      command: argv.split('\0').filter(Boolean).join(' '),
    };
  } catch {
    // The process ended while it was being read.
    return undefined;
  }
}
