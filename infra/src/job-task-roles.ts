import { RemovalPolicy } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface JobTaskRolesProps {
  /** Retention of the job log group. */
  readonly logRetention: RetentionDays;
}

/**
 * What the job tasks run with: the log group their FireLens router writes stdout and stderr
 * to (copied to S3 when a task ends, so it only needs to hold them for a while), the
 * execution role ECS uses to start them, and the task role their containers get.
 */
export class JobTaskRoles extends Construct {
  readonly logGroup: LogGroup;
  /** Used by ECS to pull images and to write the log router's own logs. */
  readonly executionRole: Role;
  /**
   * The role of the job's containers. It can write to the job log group only, which the log
   * router needs; the job's own container shares it, since a task has one role.
   */
  readonly taskRole: Role;

  constructor(scope: Construct, id: string, props: JobTaskRolesProps) {
    super(scope, id);

    this.logGroup = new LogGroup(this, 'LogGroup', {
      retention: props.logRetention,
      // Every line also lives in the log bucket once its job has ended.
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const ecsTasks = new ServicePrincipal('ecs-tasks.amazonaws.com');
    this.executionRole = new Role(this, 'ExecutionRole', {
      assumedBy: ecsTasks,
      description: 'Starts Flare job tasks: public image pulls and the log router logs',
    });
    this.taskRole = new Role(this, 'TaskRole', {
      assumedBy: ecsTasks,
      description: 'Flare job containers: write to the job log group through FireLens',
    });

    // Public images need no permission to pull; what the execution role does need is to
    // write the router container's own awslogs output.
    this.logGroup.grant(this.executionRole, 'logs:CreateLogStream', 'logs:PutLogEvents');
    this.logGroup.grant(this.taskRole, 'logs:CreateLogStream', 'logs:PutLogEvents');
  }
}
