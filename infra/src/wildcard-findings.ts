import { type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

// cdk-nag reports each wildcard of an IAM policy as its own finding, named after the
// resource as the template writes it (`<LogicalId.Arn>` for an attribute, `<LogicalId>` for
// a Ref). Acknowledging one finding leaves any other wildcard on the same policy reported.

/** The finding for a resource ARN made of `resource`'s Arn attribute and `suffix`. */
export function arnSuffixFinding(resource: IConstruct, suffix: string): string {
  return `AwsSolutions-IAM5[Resource::<${logicalIdOf(resource)}.Arn>${suffix}]`;
}

/** The finding for a resource ARN built by `Stack.formatArn` in this stack's account. */
export function stackArnFinding(service: string, resourcePath: string): string {
  return (
    `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:${service}:<AWS::Region>:` +
    `<AWS::AccountId>:${resourcePath}]`
  );
}

/** `<LogicalId>` as the finding names a Ref to `resource`. */
export function refOf(resource: IConstruct): string {
  return `<${logicalIdOf(resource)}>`;
}

export const ANY_RESOURCE_FINDING = 'AwsSolutions-IAM5[Resource::*]';

/** Acknowledges one wildcard finding on `scope` (a role, or a construct above its policy). */
export function acknowledgeWildcard(scope: IConstruct, finding: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: finding, reason });
}

function logicalIdOf(resource: IConstruct): string {
  const element = resource.node.defaultChild as CfnElement;
  return Stack.of(resource).getLogicalId(element);
}
