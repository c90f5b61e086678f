import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { type ISecurityGroup, SubnetType, type Vpc } from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import {
  Cluster,
  ContainerImage,
  ContainerInsights,
  CpuArchitecture,
  FargateService,
  FargateTaskDefinition,
  LogDrivers,
  OperatingSystemFamily,
} from 'aws-cdk-lib/aws-ecs';
import type { IRole } from 'aws-cdk-lib/aws-iam';
import { type ILogGroup, LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Bucket } from 'aws-cdk-lib/aws-s3';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULT_LOG_ROUTER_IMAGE } from '../../worker/src/aws-worker-config';
import { clusterView, vpcView } from './cdk-types';
import type { LogLevel, WorkerArchitecture } from './flare-config';
import { REPO_ROOT } from './route-function';
import { ANY_RESOURCE_FINDING, acknowledgeWildcard } from './wildcard-findings';
import { grantWorkerAccess } from './worker-permissions';
import { WorkerScaling } from './worker-scaling';

export interface FlareWorkerProps {
  readonly vpc: Vpc;
  readonly securityGroup: ISecurityGroup;
  readonly table: Table;
  readonly queue: IQueue;
  readonly logBucket: Bucket;
  readonly jobLogGroup: ILogGroup;
  readonly jobExecutionRole: IRole;
  readonly jobTaskRole: IRole;
  readonly logRetention: RetentionDays;
  /** Workers kept running without work; 0 lets the service scale to zero. @default 0 */
  readonly minTasks?: number;
  /** @default 2 */
  readonly maxTasks?: number;
  /** Jobs one worker runs at once. @default 10 */
  readonly concurrency?: number;
  /** @default 'x86_64' */
  readonly architecture?: WorkerArchitecture;
  /** @default 60 */
  readonly leaseSeconds?: number;
  /** @default 5000 */
  readonly statusPollMs?: number;
  /** @default 'INFO' */
  readonly logLevel?: LogLevel;
}

/**
 * The worker: a Fargate service running worker/src/main.ts (image built from
 * worker/Dockerfile with the repository root as context), in a cluster where it also starts
 * each job task. Scales with the work outstanding, down to zero tasks by default.
 */
export class FlareWorker extends Construct {
  readonly cluster: Cluster;
  readonly service: FargateService;
  readonly taskDefinition: FargateTaskDefinition;
  readonly scaling: WorkerScaling;
  /** Prefix of the job task definition families the worker registers. */
  readonly taskFamilyPrefix: string;

  constructor(scope: Construct, id: string, props: FlareWorkerProps) {
    super(scope, id);
    const minTasks = props.minTasks ?? 0;
    const maxTasks = props.maxTasks ?? 2;
    const concurrency = props.concurrency ?? 10;
    const arm = props.architecture === 'arm64';
    this.taskFamilyPrefix = `${Stack.of(this).stackName}-job`;

    this.cluster = new Cluster(this, 'Cluster', {
      vpc: vpcView(props.vpc),
      containerInsightsV2: ContainerInsights.ENABLED,
    });

    this.taskDefinition = new FargateTaskDefinition(this, 'TaskDefinition', {
      // The worker only waits on AWS calls; the smallest Fargate size is plenty.
      cpu: 256,
      memoryLimitMiB: 512,
      runtimePlatform: {
        operatingSystemFamily: OperatingSystemFamily.LINUX,
        cpuArchitecture: arm ? CpuArchitecture.ARM64 : CpuArchitecture.X86_64,
      },
    });
    const logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.taskDefinition.addContainer('worker', {
      image: ContainerImage.fromAsset(REPO_ROOT, {
        file: 'worker/Dockerfile',
        platform: arm ? Platform.LINUX_ARM64 : Platform.LINUX_AMD64,
      }),
      logging: LogDrivers.awsLogs({ logGroup, streamPrefix: 'worker' }),
      // The worker stops polling on SIGTERM and lets its running jobs go for another worker
      // to resume; it needs seconds, not the two minutes Fargate would allow.
      stopTimeout: Duration.seconds(30),
      environment: {
        FLARE_TABLE_NAME: props.table.tableName,
        FLARE_QUEUE_URL: props.queue.queueUrl,
        FLARE_LOG_BUCKET: props.logBucket.bucketName,
        FLARE_JOB_LOG_GROUP: props.jobLogGroup.logGroupName,
        FLARE_LOG_LEVEL: props.logLevel ?? 'INFO',
        FLARE_CLUSTER_ARN: this.cluster.clusterArn,
        FLARE_SUBNET_IDS: props.vpc.publicSubnets.map((subnet) => subnet.subnetId).join(','),
        FLARE_SECURITY_GROUP_IDS: props.securityGroup.securityGroupId,
        FLARE_ASSIGN_PUBLIC_IP: 'true',
        FLARE_TASK_EXECUTION_ROLE_ARN: props.jobExecutionRole.roleArn,
        FLARE_JOB_TASK_ROLE_ARN: props.jobTaskRole.roleArn,
        FLARE_LOG_ROUTER_IMAGE: DEFAULT_LOG_ROUTER_IMAGE,
        FLARE_TASK_FAMILY_PREFIX: this.taskFamilyPrefix,
        FLARE_WORKER_CONCURRENCY: String(concurrency),
        FLARE_LEASE_SECONDS: String(props.leaseSeconds ?? 60),
        FLARE_STATUS_POLL_MS: String(props.statusPollMs ?? 5000),
      },
    });

    this.service = new FargateService(this, 'Service', {
      cluster: clusterView(this.cluster),
      taskDefinition: this.taskDefinition,
      desiredCount: minTasks,
      assignPublicIp: true,
      vpcSubnets: { subnetType: SubnetType.PUBLIC },
      securityGroups: [props.securityGroup],
      circuitBreaker: { enable: true, rollback: true },
      // A new worker starts before the old one stops; both may poll for a moment, which the
      // conditional claim makes harmless.
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
    });

    grantWorkerAccess(this.taskDefinition.taskRole, {
      table: props.table,
      queue: props.queue,
      logBucket: props.logBucket,
      jobLogGroup: props.jobLogGroup,
      cluster: this.cluster,
      taskFamilyPrefix: this.taskFamilyPrefix,
      jobRoles: [props.jobExecutionRole, props.jobTaskRole],
    });

    this.scaling = new WorkerScaling(this, 'Scaling', {
      cluster: this.cluster,
      service: this.service,
      queue: props.queue,
      minTasks,
      maxTasks,
      concurrency,
    });

    // Fargate pulls the worker image from the CDK asset repository with this token.
    if (this.taskDefinition.executionRole !== undefined) {
      acknowledgeWildcard(
        this.taskDefinition.executionRole,
        ANY_RESOURCE_FINDING,
        'ecr:GetAuthorizationToken, which Fargate calls to pull the worker image from the ' +
          'CDK asset repository, supports no resource-level permissions',
      );
    }
    Validations.of(this.taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason:
        'The environment holds resource names, ARNs and tuning numbers the worker reads at ' +
        'start; none is a secret',
    });
  }
}
