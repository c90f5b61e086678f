import { createHash } from 'node:crypto';
import type { RegisterTaskDefinitionCommandInput } from '@aws-sdk/client-ecs';
import type { FargateSize } from './fargate-sizes';
import { LOG_ROUTER_MEMORY_MIB } from './fargate-sizes';

/** The container that runs the job's command; RunTask's overrides name it. */
export const JOB_CONTAINER = 'job';
/** The FireLens container beside it. */
export const LOG_ROUTER_CONTAINER = 'log_router';

/** What every job task definition of one deployment shares. */
export interface JobTaskSettings {
  readonly region: string;
  /** Family names are `<prefix>-<hash of the definition>`. */
  readonly familyPrefix: string;
  readonly executionRoleArn: string;
  readonly taskRoleArn: string;
  readonly logGroupName: string;
  readonly logRouterImage: string;
  /** Between SIGTERM and SIGKILL when the task is stopped (ECS allows 2 to 120). */
  readonly stopTimeoutSeconds: number;
}

/** What varies between job tasks without being overridable in RunTask. */
export interface JobTaskShape {
  readonly image: string;
  readonly size: FargateSize;
  /** The job container's hard limit: what the job asked for. */
  readonly jobMemoryMiB: number;
  /** RunTask cannot override the working directory, so it is part of the shape. */
  readonly workdir: string;
}

/**
 * The task definition for one job shape, with the family named after a hash of everything
 * else in it: two shapes share a definition exactly when their definitions are equal, and a
 * worker that restarts finds the one an earlier worker registered.
 */
export function jobTaskDefinition(
  settings: JobTaskSettings,
  shape: JobTaskShape,
): RegisterTaskDefinitionCommandInput {
  const definition = {
    requiresCompatibilities: ['FARGATE' as const],
    networkMode: 'awsvpc' as const,
    runtimePlatform: {
      operatingSystemFamily: 'LINUX' as const,
      cpuArchitecture: 'X86_64' as const,
    },
    cpu: String(shape.size.cpuUnits),
    memory: String(shape.size.memoryMiB),
    executionRoleArn: settings.executionRoleArn,
    taskRoleArn: settings.taskRoleArn,
    containerDefinitions: [
      {
        name: LOG_ROUTER_CONTAINER,
        image: settings.logRouterImage,
        essential: true,
        memoryReservation: LOG_ROUTER_MEMORY_MIB,
        firelensConfiguration: {
          type: 'fluentbit' as const,
          // Puts `source` (stdout or stderr) on every record, which the stream name uses.
          options: { 'enable-ecs-log-metadata': 'true' },
        },
        logConfiguration: {
          logDriver: 'awslogs' as const,
          options: {
            'awslogs-group': settings.logGroupName,
            'awslogs-region': settings.region,
            'awslogs-stream-prefix': 'router',
          },
        },
      },
      {
        name: JOB_CONTAINER,
        image: shape.image,
        essential: true,
        memory: shape.jobMemoryMiB,
        workingDirectory: shape.workdir,
        stopTimeout: settings.stopTimeoutSeconds,
        dependsOn: [{ containerName: LOG_ROUTER_CONTAINER, condition: 'START' as const }],
        logConfiguration: {
          logDriver: 'awsfirelens' as const,
          options: jobLogOptions(settings),
        },
      },
    ],
  } satisfies Omit<RegisterTaskDefinitionCommandInput, 'family'>;
  const hash = createHash('sha256').update(JSON.stringify(definition)).digest('hex');
  return { family: `${settings.familyPrefix}-${hash.slice(0, 20)}`, ...definition };
}

/** The task's id as the init variant of the router exports it to Fluent Bit's configuration. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Fluent Bit expands it, not JavaScript.
const ROUTER_TASK_ID = '${ECS_TASK_ID}';

/**
 * Fluent Bit's `cloudwatch_logs` output for the job container (see the comment at the top of
 * ecs-task-runner.ts for why the task id comes from `${ECS_TASK_ID}`). `log_stream_name` is
 * where a record without `source` would go; FireLens sets it on every record.
 */
function jobLogOptions(settings: JobTaskSettings): Record<string, string> {
  return {
    Name: 'cloudwatch_logs',
    region: settings.region,
    log_group_name: settings.logGroupName,
    log_stream_template: `tasks/${ROUTER_TASK_ID}/$source`,
    log_stream_name: `tasks/${ROUTER_TASK_ID}/unsorted`,
    log_key: 'log',
    auto_create_group: 'false',
    retry_limit: '5',
  };
}
