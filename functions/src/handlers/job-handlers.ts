import { ValidationError } from '../../../core/src/errors';
import type { JobService } from '../../../core/src/jobs/job-service';
import { parseJobId, parseJobIds } from '../../../core/src/jobs/list-query';
import type { Logger } from '../../../core/src/logger';
import type { LogStream } from '../../../core/src/ports';
import type { TokenVerifier } from '../auth/token-verifier';
import { type ApiHandler, apiHandler } from '../http/api-handler';
import { integerParam, jsonBody, pathParam } from '../http/request';
import { jsonResponse, textResponse } from '../http/responses';

export interface JobHandlerDeps {
  readonly jobs: JobService;
  readonly verifier: TokenVerifier;
  readonly logger: Logger;
}

/** POST /jobs */
export function createJobHandler(deps: JobHandlerDeps): ApiHandler {
  return apiHandler(deps, async (event, identity) => {
    const id = await deps.jobs.submit(identity, jsonBody(event));
    return jsonResponse(201, { id });
  });
}

/** GET /jobs */
export function listJobsHandler(deps: JobHandlerDeps): ApiHandler {
  return apiHandler(deps, async (event, identity) => {
    const jobs = await deps.jobs.list(identity, event.queryStringParameters ?? {});
    return jsonResponse(200, jobs);
  });
}

/** GET /jobs/{id}: always an array, empty when the caller has no such job. */
export function describeJobHandler(deps: JobHandlerDeps): ApiHandler {
  return apiHandler(deps, async (event, identity) => {
    const id = parseJobId(pathParam(event, 'id'));
    return jsonResponse(200, await deps.jobs.describe(identity, id));
  });
}

/** DELETE /jobs/{id} */
export function deleteJobHandler(deps: JobHandlerDeps): ApiHandler {
  return apiHandler(deps, async (event, identity) => {
    await deps.jobs.delete(identity, [parseJobId(pathParam(event, 'id'))]);
    return jsonResponse(200, {});
  });
}

/** DELETE /jobs?id=1,2,3 */
export function deleteJobsHandler(deps: JobHandlerDeps): ApiHandler {
  return apiHandler(deps, async (event, identity) => {
    const raw = event.queryStringParameters?.id;
    if (raw === undefined || raw === '') {
      throw new ValidationError('A job id or list of job ids must be provided');
    }
    await deps.jobs.delete(identity, parseJobIds(raw));
    return jsonResponse(200, {});
  });
}

/** PUT /jobs/{id}/remove: a finished job kept by leaveInQueue leaves the active list. */
export function removeJobHandler(deps: JobHandlerDeps): ApiHandler {
  return apiHandler(deps, async (event, identity) => {
    await deps.jobs.remove(identity, parseJobId(pathParam(event, 'id')));
    return jsonResponse(200, {});
  });
}

/** GET /jobs/{id}/stdout and /stderr: bytes from `offset` to the current end. */
export function jobLogHandler(deps: JobHandlerDeps, stream: LogStream): ApiHandler {
  return apiHandler(deps, async (event, identity) => {
    const id = parseJobId(pathParam(event, 'id'));
    const content = await deps.jobs.readLog(identity, id, stream, {
      offsetBytes: integerParam(event, 'offset', 0),
      node: integerParam(event, 'node', 0),
    });
    return textResponse(200, content);
  });
}
