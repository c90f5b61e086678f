import type { HealthHandlerDeps } from './handlers/health-handler';
import { healthHandler } from './handlers/health-handler';
import {
  createJobHandler,
  deleteJobHandler,
  deleteJobsHandler,
  describeJobHandler,
  type JobHandlerDeps,
  jobLogHandler,
  listJobsHandler,
  removeJobHandler,
} from './handlers/job-handlers';
import type { ApiHandler } from './http/api-handler';

export type ApiDeps = JobHandlerDeps & HealthHandlerDeps;

export interface RouteDefinition {
  /** Names the route's Lambda function and its handler module. */
  readonly name: string;
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Relative to the API's base path, in API Gateway's `{param}` form. */
  readonly path: string;
  readonly create: (deps: ApiDeps) => ApiHandler;
}

/**
 * Every route of the API, in one list: API Gateway's routes (AWS) and the local HTTP
 * adapter are both made from it.
 */
export const ROUTES: readonly RouteDefinition[] = [
  { name: 'health', method: 'GET', path: '/health', create: healthHandler },
  { name: 'create-job', method: 'POST', path: '/jobs', create: createJobHandler },
  { name: 'list-jobs', method: 'GET', path: '/jobs', create: listJobsHandler },
  { name: 'delete-jobs', method: 'DELETE', path: '/jobs', create: deleteJobsHandler },
  { name: 'describe-job', method: 'GET', path: '/jobs/{id}', create: describeJobHandler },
  { name: 'delete-job', method: 'DELETE', path: '/jobs/{id}', create: deleteJobHandler },
  { name: 'remove-job', method: 'PUT', path: '/jobs/{id}/remove', create: removeJobHandler },
  {
    name: 'job-stdout',
    method: 'GET',
    path: '/jobs/{id}/stdout',
    create: (deps) => jobLogHandler(deps, 'stdout'),
  },
  {
    name: 'job-stderr',
    method: 'GET',
    path: '/jobs/{id}/stderr',
    create: (deps) => jobLogHandler(deps, 'stderr'),
  },
];
