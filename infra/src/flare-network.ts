import { Validations } from 'aws-cdk-lib';
import { SecurityGroup, SubnetType, Vpc } from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { vpcView } from './cdk-types';

export interface FlareNetworkProps {
  /** Availability zones to spread tasks over. @default 2 */
  readonly maxAzs?: number;
}

/**
 * Where the worker and the job tasks run: public subnets only and no NAT gateway. Tasks get
 * a public IP to reach registries, AWS APIs and whatever the job downloads; the security
 * group admits nothing inbound, so the IP answers nothing. A NAT gateway would hide the
 * tasks behind private subnets but is billed every hour whether or not a job runs (see
 * README, "Costs").
 */
export class FlareNetwork extends Construct {
  readonly vpc: Vpc;
  readonly securityGroup: SecurityGroup;

  constructor(scope: Construct, id: string, props: FlareNetworkProps = {}) {
    super(scope, id);

    this.vpc = new Vpc(this, 'Vpc', {
      maxAzs: props.maxAzs ?? 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'public', subnetType: SubnetType.PUBLIC, cidrMask: 20 }],
    });
    this.securityGroup = new SecurityGroup(this, 'TaskSecurityGroup', {
      vpc: vpcView(this.vpc),
      description: 'Flare worker and job tasks: outbound only, nothing inbound',
      allowAllOutbound: true,
    });

    Validations.of(this.vpc).acknowledge({
      id: 'AwsSolutions-VPC7',
      reason:
        'Flow logs are billed per GB ingested; the VPC holds only outbound-only Fargate tasks ' +
        'behind a security group with no inbound rules, and flow logs can be added when an ' +
        'audit needs them',
    });
  }
}
