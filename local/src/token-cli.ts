import { mkdir, writeFile } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { readLocalConfig } from './local-config';
import { ensureLocalIssuer, signLocalToken } from './local-issuer';

const USAGE = `Usage: npm run --silent token -- [options]

Prints a bearer token for local Flare, signed by the key in the data directory.

  --user NAME      the user the token is for (default: your login name)
  --groups A,B     the user's groups (default: none)
  --hours N        how long the token is valid (default: 24)
  --save           also write it to ~/.prominence/token, as the prominence CLI reads it
  --file PATH      also write it, in the same format, to PATH
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      user: { type: 'string' },
      groups: { type: 'string' },
      hours: { type: 'string', default: '24' },
      save: { type: 'boolean', default: false },
      file: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const hours = Number(values.hours);
  // At least a minute: a token that expires as it is printed is of no use.
  if (!Number.isFinite(hours) || hours < 1 / 60 || hours > 24 * 366) {
    throw new Error(`--hours must be a number of hours from 0.02 to 8784 (got ${values.hours})`);
  }
  const username = values.user ?? process.env.FLARE_LOCAL_USER ?? userInfo().username;
  if (username.trim() === '') {
    throw new Error('--user must name a user');
  }
  const config = readLocalConfig(process.env);
  const issuer = await ensureLocalIssuer(config.dataDir);
  const lifetimeSeconds = Math.round(hours * 3600);
  const token = signLocalToken(issuer, {
    username,
    groups: (values.groups ?? '').split(',').filter((group) => group !== ''),
    lifetimeSeconds,
    usernameClaim: config.usernameClaim,
    groupsClaim: config.groupsClaim,
  });

  const files = [
    ...(values.save ? [join(homedir(), '.prominence', 'token')] : []),
    ...(values.file === undefined ? [] : [values.file]),
  ];
  for (const file of files) {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    const content = { access_token: token, token_type: 'Bearer', expires_in: lifetimeSeconds };
    await writeFile(file, `${JSON.stringify(content)}\n`, { mode: 0o600 });
  }
  process.stdout.write(`${token}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`flare token: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
