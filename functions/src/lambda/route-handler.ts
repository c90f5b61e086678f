import { createRouteHandler } from './create-route-handler';

/**
 * The one Lambda entry point of the API: every route's function bundles this file, and
 * `FLARE_ROUTE` says which route it serves. Built once per container, when the module loads;
 * a misconfigured function fails there, with a message naming the variables to fix.
 */
export const handler = createRouteHandler(process.env);
