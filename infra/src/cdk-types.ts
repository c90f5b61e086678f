import type { IVpc, Vpc } from 'aws-cdk-lib/aws-ec2';
import type { Cluster, ICluster } from 'aws-cdk-lib/aws-ecs';

// aws-cdk-lib declares some optional fields of its classes as `T | undefined` and the same
// fields of their interfaces as `?: T`. Under exactOptionalPropertyTypes (tsconfig.json) the
// class then no longer counts as its own interface, though at run time it is exactly that.
// These two views are the only places the infra code needs one as the other.

export function vpcView(vpc: Vpc): IVpc {
  return vpc as IVpc;
}

export function clusterView(cluster: Cluster): ICluster {
  return cluster as ICluster;
}
