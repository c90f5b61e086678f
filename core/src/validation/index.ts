export { MAX_JOB_SPEC_BYTES, validateJobSpec } from './validate-job';
