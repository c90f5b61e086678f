import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { FlareConfigError } from './context-values';

export interface JobQueuesProps {
  /**
   * Receives of one message before it moves to the dead-letter queue. The worker deletes a
   * message once it has claimed the job, so only a message that keeps failing before the
   * claim gets there.
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /** How long a received message stays hidden from other workers. @default Duration.seconds(60) */
  readonly visibilityTimeout?: Duration;
}

const MAX_RECEIVE_COUNT_LIMIT = 1000;

/**
 * The job queue (messages name a job id, nothing more), its dead-letter queue, and an alarm
 * that goes off when anything lands in the dead-letter queue.
 */
export class JobQueues extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly deadLetterAlarm: Alarm;

  constructor(scope: Construct, id: string, props: JobQueuesProps = {}) {
    super(scope, id);

    const maxReceiveCount = props.maxReceiveCount ?? 5;
    if (
      !Number.isInteger(maxReceiveCount) ||
      maxReceiveCount < 1 ||
      maxReceiveCount > MAX_RECEIVE_COUNT_LIMIT
    ) {
      throw new FlareConfigError(
        `maxReceiveCount must be a whole number from 1 to ${MAX_RECEIVE_COUNT_LIMIT}, ` +
          `got ${maxReceiveCount}`,
      );
    }

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // The longest SQS allows, to give an operator time to look.
      retentionPeriod: Duration.days(14),
    });
    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: props.visibilityTimeout ?? Duration.seconds(60),
      // A job waits in the table, not only here: a message older than this is requeued by
      // nobody, so keep it as long as SQS allows.
      retentionPeriod: Duration.days(14),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
    });

    this.deadLetterAlarm = new Alarm(this, 'DeadLetterAlarm', {
      alarmDescription:
        'Job messages reached the dead-letter queue: a worker failed on them repeatedly',
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }
}
