import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { DockerClient, type DockerEndpoint } from '../../adapters/docker/docker-client';
import { followProgress, imagePath } from '../../adapters/docker/docker-images';

/**
 * Small images built from the host's static busybox, for machines that cannot reach a
 * registry: the test suites use them, and `npm run images` builds them for a try-out.
 */

/** A small image with busybox's applets in /bin; its default command is `sh`. */
export const BUSYBOX_IMAGE = 'localhost/flare-test/busybox:latest';

/**
 * Stands in for PROMINENCE's `eoscprominence/testpi`. On a normal machine the real image is
 * pulled from Docker Hub; here no registry is reachable, so a look-alike is built under the
 * name that the bare `eoscprominence/testpi` resolves to.
 */
export const TESTPI_IMAGE = 'docker.io/eoscprominence/testpi:latest';

/** What the stand-in prints: pi to 100 decimals, checked against an independent computation. */
export const PI_100_DECIMALS = [
  '3.',
  '14159265358979323846264338327950288419716939937510',
  '58209749445923078164062862089986280348253421170679',
].join('');

const BUSYBOX = '/bin/busybox';
const LABEL = 'flare.test-image';

/**
 * Rabinowitz and Wagon's spigot: pi in base 10 falls out of a mixed-radix expansion one digit
 * at a time. A digit is held back while 9s follow it, since a later carry may raise it.
 */
const PI_SCRIPT = `#!/bin/sh
exec awk -v n="\${PI_DIGITS:-101}" 'BEGIN {
  len = int(10 * (n + 2) / 3) + 1
  for (i = 1; i <= len; i++) a[i] = 2
  nines = 0; held = -1; out = ""
  for (j = 1; j <= n + 2; j++) {
    q = 0
    for (i = len; i >= 1; i--) {
      x = 10 * a[i] + q * i
      a[i] = x % (2 * i - 1)
      q = int(x / (2 * i - 1))
    }
    a[1] = q % 10
    q = int(q / 10)
    if (q == 9) { nines++; continue }
    if (q == 10) {
      out = out (held + 1)
      for (k = 0; k < nines; k++) out = out "0"
      held = 0
    } else {
      if (held >= 0) out = out held
      for (k = 0; k < nines; k++) out = out "9"
      held = q
    }
    nines = 0
  }
  print substr(out, 1, 1) "." substr(out, 2, n - 1)
}'
`;

interface TarEntry {
  readonly path: string;
  readonly type: 'file' | 'dir' | 'symlink';
  readonly mode: number;
  readonly data?: Buffer;
  readonly linkTarget?: string;
}

/**
 * Builds the images from the host's static busybox unless the engine has them already,
 * as built from the same content (a label on each image says which). Cheap when they are
 * there, so every test file may call it, whatever engine or storage it uses.
 */
export async function ensureDemoImages(target: DockerClient | DockerEndpoint): Promise<void> {
  const client = target instanceof DockerClient ? target : new DockerClient(target);
  await buildMissing(client);
}

async function buildMissing(client: DockerClient): Promise<void> {
  if (!existsSync(BUSYBOX)) {
    const fix = 'install it (on Debian: apt-get install busybox-static)';
    throw new Error(`Test images need a static busybox at ${BUSYBOX}; ${fix}`);
  }
  const base = baseEntries();
  const pi: TarEntry = {
    path: 'bin/pi',
    type: 'file',
    mode: 0o755,
    data: Buffer.from(PI_SCRIPT),
  };
  await importIfStale(client, BUSYBOX_IMAGE, tar(base), ['CMD ["sh"]']);
  await importIfStale(client, TESTPI_IMAGE, tar([...base, pi]), ['CMD ["/bin/pi"]']);
}

function baseEntries(): TarEntry[] {
  const applets = execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' })
    .split('\n')
    .filter((name) => name !== '' && name !== 'busybox');
  const dirs = ['bin', 'etc', 'home', 'home/user', 'tmp'];
  return [
    ...dirs.map((path): TarEntry => ({ path, type: 'dir', mode: path === 'tmp' ? 0o1777 : 0o755 })),
    { path: 'bin/busybox', type: 'file', mode: 0o755, data: readFileSync(BUSYBOX) },
    ...applets.map(
      (name): TarEntry => ({
        path: `bin/${name}`,
        type: 'symlink',
        mode: 0o777,
        linkTarget: 'busybox',
      }),
    ),
    {
      path: 'etc/passwd',
      type: 'file',
      mode: 0o644,
      data: Buffer.from('root:x:0:0::/root:/bin/sh\n'),
    },
    { path: 'etc/group', type: 'file', mode: 0o644, data: Buffer.from('root:x:0:\n') },
  ];
}

async function importIfStale(
  client: DockerClient,
  name: string,
  rootfs: Buffer,
  changes: readonly string[],
): Promise<void> {
  const version = createHash('sha256').update(rootfs).update(changes.join('\n')).digest('hex');
  const existing = await client
    .call<{ Config?: { Labels?: Record<string, string> } }>(
      'GET',
      `/images/${imagePath(name)}/json`,
    )
    .catch(() => undefined);
  if (existing?.body.Config?.Labels?.[LABEL] === version) return;

  const colon = name.lastIndexOf(':');
  const progress = await client.stream('POST', '/images/create', {
    query: {
      fromSrc: '-',
      repo: name.slice(0, colon),
      tag: name.slice(colon + 1),
      changes: [...changes, 'ENV PATH=/bin', `LABEL ${LABEL}=${version}`],
    },
    headers: { 'content-type': 'application/x-tar' },
    body: rootfs,
    timeoutMs: 120_000,
  });
  await followProgress(progress);
}

/** A ustar archive: enough of the format for directories, files and symlinks. */
function tar(entries: readonly TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const data = entry.data ?? Buffer.alloc(0);
    blocks.push(tarHeader(entry, data.length), data);
    const padding = (512 - (data.length % 512)) % 512;
    if (padding > 0) blocks.push(Buffer.alloc(padding));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

function tarHeader(entry: TarEntry, size: number): Buffer {
  const header = Buffer.alloc(512);
  const octal = (value: number, width: number): string =>
    `${value.toString(8).padStart(width - 1, '0')}\0`;
  header.write(entry.type === 'dir' ? `${entry.path}/` : entry.path, 0, 100);
  header.write(octal(entry.mode, 8), 100);
  header.write(octal(0, 8), 108);
  header.write(octal(0, 8), 116);
  header.write(octal(size, 12), 124);
  header.write(octal(0, 12), 136);
  header.write({ file: '0', dir: '5', symlink: '2' }[entry.type], 156);
  header.write(entry.linkTarget ?? '', 157, 100);
  header.write('ustar\u000000', 257);
  // The checksum is taken with its own field read as spaces.
  header.fill(' ', 148, 156);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return header;
}
