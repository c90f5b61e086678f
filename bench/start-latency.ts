import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { DockerClient } from '../adapters/docker/docker-client';
import { createLogger } from '../core/src/logger';
import { connectContainerEngine } from '../local/src/container-engine';
import { BUSYBOX_IMAGE, ensureDemoImages } from '../local/src/demo-images';
import type { RunningService } from '../local/src/local-service';
import { benchToken } from './bench-token';
import { formatSummary, progress, summarise } from './stats';

const RUNS = 10;

/**
 * Time from submit to the task's process starting, beside a bare container run (create and
 * start through the engine API) of the same image and command. Both sides read the host's
 * uptime: containers share the host's kernel, so `/proc/uptime` inside one is the same clock
 * (10 ms resolution).
 */
export async function measureStartLatency(
  service: RunningService,
  dataDir: string,
): Promise<string[]> {
  const logger = createLogger('flare-bench');
  logger.setLogLevel('ERROR');
  const engine = await connectContainerEngine({ dataDir, logger });
  const docker = new DockerClient(engine);
  await ensureDemoImages(docker);
  const token = await benchToken(dataDir, 'bench-start');
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };

  const viaFlare = async (): Promise<number> => {
    const before = await uptimeSeconds();
    const created = await fetch(`${service.apiUrl}/jobs`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        resources: { cpus: 1, memory: 1 },
        tasks: [{ image: BUSYBOX_IMAGE, cmd: 'cat /proc/uptime' }],
      }),
    });
    const { id } = (await created.json()) as { id: number };
    for (;;) {
      const [job] = (await (await fetch(`${service.apiUrl}/jobs/${id}`, { headers })).json()) as [
        { status: string },
      ];
      if (job.status !== 'pending' && job.status !== 'running') break;
      await sleep(50);
    }
    const stdout = await (await fetch(`${service.apiUrl}/jobs/${id}/stdout`, { headers })).text();
    return (Number(stdout.split(' ')[0]) - before) * 1000;
  };

  const bare = async (): Promise<number> => {
    const before = await uptimeSeconds();
    const { body } = await docker.call<{ Id: string }>('POST', '/containers/create', {
      body: { Image: BUSYBOX_IMAGE, Cmd: ['cat', '/proc/uptime'] },
    });
    await docker.call('POST', `/containers/${body.Id}/start`);
    await docker.call('POST', `/containers/${body.Id}/wait`, { timeoutMs: 60_000 });
    const logs = await docker.call<string>('GET', `/containers/${body.Id}/logs`, {
      query: { stdout: true },
    });
    await docker.call('DELETE', `/containers/${body.Id}`, { query: { force: true } });
    // The log stream is framed; the uptime is the first number in it.
    const match = /([0-9]+\.[0-9]+) /.exec(String(logs.body));
    return (Number(match?.[1]) - before) * 1000;
  };

  progress(`start: ${RUNS} jobs through Flare and ${RUNS} bare container runs`);
  await viaFlare();
  await bare();
  const flare: number[] = [];
  const direct: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    flare.push(await viaFlare());
    direct.push(await bare());
  }
  await engine.close();
  const flareSummary = summarise(flare);
  const directSummary = summarise(direct);
  return [
    'Submit to task start (busybox, cat /proc/uptime)',
    `  through Flare:               ${formatSummary(flareSummary)}`,
    `  bare create+start:           ${formatSummary(directSummary)}`,
    `  ratio Flare / bare:          p50 ${(flareSummary.p50Ms / directSummary.p50Ms).toFixed(2)}x`,
  ];
}

async function uptimeSeconds(): Promise<number> {
  return Number((await readFile('/proc/uptime', 'utf8')).split(' ')[0]);
}
