import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { JOB_TABLE_INDEXES, JOB_TABLE_PARTITION_KEY } from '../../adapters/aws/job-table';

export interface JobTableProps {
  /** Refuse deletion of the table, by CloudFormation or anyone else. @default true */
  readonly deletionProtection?: boolean;
  /** What happens to the table when it leaves the stack. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The job table: the same keys and indexes as local mode declares, taken from the adapter's
 * constants. On demand, so an idle service pays only for storage; point-in-time recovery on.
 */
export class JobTable extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string, props: JobTableProps = {}) {
    super(scope, id);

    this.table = new Table(this, 'Table', {
      partitionKey: attribute(JOB_TABLE_PARTITION_KEY),
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: props.deletionProtection ?? true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      // Encrypted at rest with an AWS owned key: no KMS charges, and no key policy to manage.
    });
    for (const index of JOB_TABLE_INDEXES) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: attribute(index.partitionKey),
        sortKey: attribute(index.sortKey),
        projectionType: ProjectionType.ALL,
      });
    }
  }
}

function attribute(key: { readonly name: string; readonly type: 'S' | 'N' }) {
  return { name: key.name, type: key.type === 'S' ? AttributeType.STRING : AttributeType.NUMBER };
}
