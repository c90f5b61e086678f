import { Duration } from 'aws-cdk-lib';
import {
  AdjustmentType,
  MetricAggregationType,
  ScalableTarget,
  ServiceNamespace,
  StepScalingAction,
} from 'aws-cdk-lib/aws-applicationautoscaling';
import {
  Alarm,
  ComparisonOperator,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { ApplicationScalingAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { Cluster, FargateService } from 'aws-cdk-lib/aws-ecs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { FlareConfigError } from './context-values';
import { MAX_WORKER_TASKS } from './flare-config';

export interface WorkerScalingProps {
  readonly cluster: Cluster;
  readonly service: FargateService;
  readonly queue: IQueue;
  /** Workers kept when there is no work; 0 allowed. */
  readonly minTasks: number;
  readonly maxTasks: number;
  /** Jobs one worker runs at once. */
  readonly concurrency: number;
  /** Minutes without any work before the workers go down to `minTasks`. @default 5 */
  readonly idleMinutesBeforeScaleIn?: number;
}

/** Outstanding work of at least this is one job (the metric is a whole count). */
const WORK_THRESHOLD = 0.5;
const PERIOD = Duration.minutes(1);

/**
 * Scales the worker service on the work outstanding: jobs waiting in the queue plus job
 * tasks running in the cluster. Queue depth alone would fall to zero as soon as the worker
 * takes a job (it deletes the message on claim) and scale the worker in while it still
 * watches the job's task. One worker per `concurrency` jobs, set as an exact count as soon
 * as there is work; back to the minimum only after the work has been zero for a while.
 */
export class WorkerScaling extends Construct {
  readonly outstandingWork: MathExpression;
  readonly scaleOutAlarm: Alarm;
  readonly scaleInAlarm: Alarm;

  constructor(scope: Construct, id: string, props: WorkerScalingProps) {
    super(scope, id);
    const { minTasks, maxTasks, concurrency } = props;
    assertWhole('minTasks', minTasks, 0, MAX_WORKER_TASKS);
    assertWhole('maxTasks', maxTasks, Math.max(1, minTasks), MAX_WORKER_TASKS);
    assertWhole('concurrency', concurrency, 1, 1000);
    const idleMinutes = props.idleMinutesBeforeScaleIn ?? 5;
    assertWhole('idleMinutesBeforeScaleIn', idleMinutes, 1, 60);

    const target = new ScalableTarget(this, 'Target', {
      serviceNamespace: ServiceNamespace.ECS,
      scalableDimension: 'ecs:service:DesiredCount',
      resourceId: `service/${props.cluster.clusterName}/${props.service.serviceName}`,
      minCapacity: minTasks,
      maxCapacity: maxTasks,
    });

    this.outstandingWork = outstandingWorkMetric(props);

    const scaleOut = new StepScalingAction(this, 'ScaleOut', {
      scalingTarget: target,
      adjustmentType: AdjustmentType.EXACT_CAPACITY,
      metricAggregationType: MetricAggregationType.MAXIMUM,
      cooldown: Duration.seconds(60),
    });
    for (const step of workerSteps(minTasks, maxTasks, concurrency)) {
      scaleOut.addAdjustment(step);
    }
    this.scaleOutAlarm = new Alarm(this, 'WorkAlarm', {
      alarmDescription: 'Flare has jobs queued or running: set the worker count for them',
      metric: this.outstandingWork,
      threshold: WORK_THRESHOLD,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.scaleOutAlarm.addAlarmAction(new ApplicationScalingAction(scaleOut));

    const scaleIn = new StepScalingAction(this, 'ScaleIn', {
      scalingTarget: target,
      adjustmentType: AdjustmentType.EXACT_CAPACITY,
      metricAggregationType: MetricAggregationType.MAXIMUM,
      cooldown: Duration.seconds(60),
    });
    scaleIn.addAdjustment({ upperBound: 0, adjustment: minTasks });
    this.scaleInAlarm = new Alarm(this, 'IdleAlarm', {
      alarmDescription: `Flare has had no jobs for ${idleMinutes} minutes: back to the minimum`,
      metric: this.outstandingWork,
      threshold: WORK_THRESHOLD,
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: idleMinutes,
      datapointsToAlarm: idleMinutes,
      // SQS stops publishing the metrics of a queue idle for hours: no data means no work.
      treatMissingData: TreatMissingData.BREACHING,
    });
    this.scaleInAlarm.addAlarmAction(new ApplicationScalingAction(scaleIn));
  }
}

/**
 * The exact worker count for each amount of outstanding work, as step adjustments relative
 * to WORK_THRESHOLD: `n` jobs need ceil(n / concurrency) workers, within min and max.
 */
export function workerSteps(
  minTasks: number,
  maxTasks: number,
  concurrency: number,
): { lowerBound: number; upperBound?: number; adjustment: number }[] {
  const steps = [];
  for (let workers = 1; workers <= maxTasks; workers += 1) {
    const lowerBound = (workers - 1) * concurrency;
    const adjustment = Math.max(workers, minTasks);
    steps.push(
      workers === maxTasks
        ? { lowerBound, adjustment }
        : { lowerBound, upperBound: workers * concurrency, adjustment },
    );
  }
  return steps;
}

/**
 * Messages waiting, plus tasks running in the cluster that are not workers (the job tasks).
 * The task counts come from Container Insights; FILL turns their gaps (no tasks, nothing
 * published) into zeros. Delayed messages (a job waiting a minute for Fargate capacity) are
 * not counted: the idle minutes before a scale-in outlast the delay.
 */
function outstandingWorkMetric(props: WorkerScalingProps): MathExpression {
  const clusterName = props.cluster.clusterName;
  const insights = (metricName: string, dimensions: Record<string, string>) =>
    new Metric({
      namespace: 'ECS/ContainerInsights',
      metricName,
      dimensionsMap: dimensions,
      statistic: 'Maximum',
      period: PERIOD,
    });
  return new MathExpression({
    label: 'Jobs queued or running',
    expression:
      'FILL(queued, 0) + IF(FILL(tasks, 0) > FILL(workers, 0), ' +
      'FILL(tasks, 0) - FILL(workers, 0), 0)',
    usingMetrics: {
      queued: props.queue.metricApproximateNumberOfMessagesVisible({
        statistic: 'Maximum',
        period: PERIOD,
      }),
      tasks: insights('TaskCount', { ClusterName: clusterName }),
      workers: insights('RunningTaskCount', {
        ClusterName: clusterName,
        ServiceName: props.service.serviceName,
      }),
    },
    period: PERIOD,
  });
}

function assertWhole(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new FlareConfigError(
      `${name} must be a whole number from ${min} to ${max}, got ${value}`,
    );
  }
}
