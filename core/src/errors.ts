/**
 * The one catalogue of failures that Flare's domain can report. Each kind is its own class so
 * callers tell them apart with `instanceof`; the HTTP layer maps kinds to status codes in one
 * place (functions/src/http/error-response.ts).
 */
export class FlareError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The request or job description is malformed: the message names what is wrong. */
export class ValidationError extends FlareError {}

/** The job description asks for something Flare does not run yet. */
export class UnsupportedFeatureError extends ValidationError {}

/** The request body is larger than the API accepts. */
export class PayloadTooLargeError extends FlareError {}

/** No usable credentials came with the request. */
export class AuthenticationError extends FlareError {}

/** The job exists but belongs to someone else. */
export class NotAuthorisedError extends FlareError {}

/** The job does not exist (or, where the API hides others' jobs, is not the caller's). */
export class JobNotFoundError extends FlareError {}

/** The job exists but is not in a state that allows the request. */
export class JobStateError extends FlareError {}

/** A state change that the job state machine does not allow. */
export class InvalidTransitionError extends FlareError {}

/**
 * A conditional write found the job in another state than the one it expected to leave:
 * someone else changed it first. Callers decide whether that is a conflict or a duplicate.
 */
export class StaleJobStateError extends FlareError {}

/** The container image could not be pulled. */
export class ImagePullError extends FlareError {}

/** The container engine failed in a way that is not the job's fault. */
export class TaskRunnerError extends FlareError {}

/**
 * The engine as a whole cannot be reached (its socket is gone, it does not answer): nothing
 * is wrong with the job, so it stays running for a worker that can reach the engine.
 */
export class EngineUnavailableError extends TaskRunnerError {}

/**
 * The engine has no room for the task now (throttled, or out of capacity) even after its own
 * retries: the job waits in the queue and is tried again later.
 */
export class CapacityError extends TaskRunnerError {}

/** The service cannot start: the message says what is wrong and how to fix it. */
export class StartupError extends FlareError {}

/** A backing service (queue, store) is unavailable; the request may be tried again later. */
export class ServiceUnavailableError extends FlareError {}
