import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Vpc } from 'aws-cdk-lib/aws-ec2';
import {
  Cluster,
  ContainerImage,
  FargateService,
  FargateTaskDefinition,
} from 'aws-cdk-lib/aws-ecs';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { clusterView, vpcView } from '../../infra/src/cdk-types';
import { FlareConfigError } from '../../infra/src/flare-config';
import {
  WorkerScaling,
  type WorkerScalingProps,
  workerSteps,
} from '../../infra/src/worker-scaling';

/** The worker count the steps give for `jobs` outstanding (steps are relative to 0.5). */
function workersFor(steps: ReturnType<typeof workerSteps>, jobs: number): number | undefined {
  const offset = jobs - 0.5;
  return steps.find(
    (step) =>
      offset >= step.lowerBound && (step.upperBound === undefined || offset < step.upperBound),
  )?.adjustment;
}

function scalingTemplate(props: Partial<WorkerScalingProps> = {}): Template {
  const stack = new Stack(new App({ builtinCloudFormationValidation: false }), 'Scaling');
  const vpc = new Vpc(stack, 'Vpc', { natGateways: 0 });
  const cluster = new Cluster(stack, 'Cluster', { vpc: vpcView(vpc) });
  const taskDefinition = new FargateTaskDefinition(stack, 'Task');
  taskDefinition.addContainer('worker', { image: ContainerImage.fromRegistry('worker') });
  const service = new FargateService(stack, 'Service', {
    cluster: clusterView(cluster),
    taskDefinition,
    minHealthyPercent: 100,
  });
  new WorkerScaling(stack, 'Scaling', {
    cluster,
    service,
    queue: new Queue(stack, 'Queue'),
    minTasks: 0,
    maxTasks: 3,
    concurrency: 10,
    ...props,
  });
  return Template.fromStack(stack);
}

describe('workerSteps', () => {
  it('gives one worker per started block of concurrency jobs, up to the maximum', () => {
    // Arrange
    const steps = workerSteps(0, 3, 10);

    // Act
    const counts = [1, 10, 11, 20, 21, 30, 31, 500].map((jobs) => workersFor(steps, jobs));

    // Assess
    assert.deepEqual(counts, [1, 1, 2, 2, 3, 3, 3, 3]);
  });

  it('never sets fewer workers than the minimum', () => {
    // Act
    const counts = [1, 11, 21].map((jobs) => workersFor(workerSteps(2, 3, 10), jobs));

    // Assess
    assert.deepEqual(counts, [2, 2, 3]);
  });

  it('covers every amount of work from the threshold up without gaps', () => {
    // Act
    const steps = workerSteps(0, 4, 5);

    // Assess
    assert.equal(steps[0]?.lowerBound, 0);
    assert.equal(steps.at(-1)?.upperBound, undefined);
    for (let i = 1; i < steps.length; i += 1) {
      assert.equal(steps[i]?.lowerBound, steps[i - 1]?.upperBound);
    }
  });
});

describe('WorkerScaling', () => {
  // One stack for the assertions that read it: synthesis is the slow part.
  let template: Template;
  before(() => {
    template = scalingTemplate();
  });

  it('scales the service between its minimum and maximum with exact counts', () => {
    // Assess
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      MinCapacity: 0,
      MaxCapacity: 3,
      ScalableDimension: 'ecs:service:DesiredCount',
      ServiceNamespace: 'ecs',
    });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      PolicyType: 'StepScaling',
      StepScalingPolicyConfiguration: {
        AdjustmentType: 'ExactCapacity',
        MetricAggregationType: 'Maximum',
        Cooldown: 60,
        StepAdjustments: [
          { MetricIntervalLowerBound: 0, MetricIntervalUpperBound: 10, ScalingAdjustment: 1 },
          { MetricIntervalLowerBound: 10, MetricIntervalUpperBound: 20, ScalingAdjustment: 2 },
          { MetricIntervalLowerBound: 20, ScalingAdjustment: 3 },
        ],
      },
    });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      StepScalingPolicyConfiguration: {
        AdjustmentType: 'ExactCapacity',
        StepAdjustments: [{ MetricIntervalUpperBound: 0, ScalingAdjustment: 0 }],
      },
    });
  });

  it('counts queued messages and running job tasks, not the workers themselves', () => {
    // Assess
    const metricIds = (metrics: { Id: string }[]) => metrics.map((metric) => metric.Id).sort();
    const alarms = template.findResources('AWS::CloudWatch::Alarm');
    assert.equal(Object.keys(alarms).length, 2);
    for (const alarm of Object.values(alarms)) {
      const metrics = alarm.Properties.Metrics as {
        Id: string;
        Expression?: string;
        MetricStat?: { Metric: { MetricName: string; Namespace: string } };
      }[];
      assert.deepEqual(metricIds(metrics), ['expr_1', 'queued', 'tasks', 'workers']);
      const names = metrics.flatMap((metric) =>
        metric.MetricStat ? [metric.MetricStat.Metric.MetricName] : [],
      );
      assert.deepEqual(names.sort(), [
        'ApproximateNumberOfMessagesVisible',
        'RunningTaskCount',
        'TaskCount',
      ]);
      assert.match(
        metrics.find((metric) => metric.Expression)?.Expression ?? '',
        /^FILL\(queued, 0\) \+ IF\(FILL\(tasks, 0\) > FILL\(workers, 0\)/,
      );
    }
  });

  it('goes back to the minimum only after five idle minutes, counting no data as idle', () => {
    // Assess
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 0.5,
      EvaluationPeriods: 5,
      DatapointsToAlarm: 5,
      TreatMissingData: 'breaching',
      AlarmActions: [Match.objectLike({ Ref: Match.stringLikeRegexp('ScaleIn') })],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 0.5,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [Match.objectLike({ Ref: Match.stringLikeRegexp('ScaleOut') })],
    });
  });

  it('refuses a maximum above what one step policy can hold', () => {
    assert.throws(
      () => scalingTemplate({ maxTasks: 21 }),
      (error: unknown) =>
        error instanceof FlareConfigError &&
        error.message === 'maxTasks must be a whole number from 1 to 20, got 21',
    );
  });
});
