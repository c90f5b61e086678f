import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type LifecycleRule,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { FlareConfigError } from './context-values';

/** Where the job logs live in the bucket: `logs/<jobId>/stdout` and `logs/<jobId>/stderr`. */
export const JOB_LOG_PREFIX = 'logs/';

export interface LogBucketProps {
  /** Days after which job logs are deleted; 0 keeps them for good. @default 365 */
  readonly logExpirationDays?: number;
  /**
   * What happens to the bucket when it leaves the stack. DESTROY also deletes every object
   * in it first (a custom resource does that), since CloudFormation cannot delete a bucket
   * that holds objects.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The bucket that keeps each job's stdout and stderr once the job has ended (and, later, its
 * outputs). Private, encrypted, TLS only.
 */
export class LogBucket extends Construct {
  readonly bucket: Bucket;

  constructor(scope: Construct, id: string, props: LogBucketProps = {}) {
    super(scope, id);

    const expirationDays = props.logExpirationDays ?? 365;
    if (!Number.isInteger(expirationDays) || expirationDays < 0 || expirationDays > 3650) {
      throw new FlareConfigError(
        `logExpirationDays must be a whole number from 0 to 3650, got ${expirationDays}`,
      );
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    const rules: LifecycleRule[] = [
      // A worker that dies mid-upload leaves parts that are billed but never seen.
      { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
    ];
    if (expirationDays > 0) {
      rules.push({
        id: 'expire-job-logs',
        prefix: JOB_LOG_PREFIX,
        expiration: Duration.days(expirationDays),
      });
    }

    this.bucket = new Bucket(this, 'Bucket', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      // Off on purpose: only the worker writes a job's log objects, and it may write them
      // more than once as output arrives; nobody edits them afterwards. Old versions would
      // hold earlier copies of the same bytes, billed, and protect nothing a user could lose.
      versioned: false,
      lifecycleRules: rules,
      removalPolicy,
      autoDeleteObjects: removalPolicy === RemovalPolicy.DESTROY,
    });

    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Server access logs would need a second bucket and are billed per request; the bucket ' +
        'is private and reached only by Flare roles, and CloudTrail data events can be turned ' +
        'on for an audit trail of object reads and writes',
    });
  }
}
