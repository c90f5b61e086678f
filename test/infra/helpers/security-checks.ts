import assert from 'node:assert/strict';
import type { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { ACKNOWLEDGED_RULES, ANY_RESOURCE_ACTIONS, DATA_SERVICES } from './expected-access';
import { policyStatements } from './iam-statements';
import { acknowledgments, awsSolutionsFindings } from './nag-report';

/** No statement of any identity policy allows a wildcard action (`*`, `s3:*`, `s3:Get*`). */
export function assertNoWildcardActions(template: Template): void {
  const wildcards = policyStatements(template).flatMap((statement) =>
    statement.actions
      .filter((action) => action.includes('*'))
      .map((a) => `${statement.holder}: ${a}`),
  );
  assert.deepEqual(wildcards, []);
}

/**
 * `*` as a resource only for the actions AWS gives no resource-level permission, and never
 * for an action on a data service (DynamoDB, S3, SQS, CloudWatch Logs).
 */
export function assertAnyResourceOnlyWhereUnavoidable(template: Template): void {
  const offending = policyStatements(template)
    .filter((statement) => statement.resources.includes('*'))
    .flatMap((statement) =>
      statement.actions
        .filter(
          (action) =>
            !ANY_RESOURCE_ACTIONS.has(action) ||
            DATA_SERVICES.some((service) => action.startsWith(service)),
        )
        .map((action) => `${statement.holder}: ${action} on *`),
    );
  assert.deepEqual(offending, []);
}

/** ecs:ListTasks on `*` is held to Flare's cluster by a condition. */
export function assertListTasksHeldToCluster(template: Template): void {
  const listTasks = policyStatements(template).filter((statement) =>
    statement.actions.includes('ecs:ListTasks'),
  );
  assert.equal(listTasks.length, 1);
  assert.deepEqual(listTasks[0]?.condition, {
    ArnEquals: { 'ecs:cluster': { 'Fn::GetAtt': [clusterId(template), 'Arn'] } },
  });
}

/** The AwsSolutions pack reports nothing, and every acknowledgment is one listed, with a reason. */
export function assertAwsSolutionsClean(app: IConstruct): void {
  assert.deepEqual(awsSolutionsFindings(app), []);
  const ours = acknowledgments(app).filter((ack) => ack.rule.startsWith('AwsSolutions-'));
  for (const ack of ours) {
    assert.ok(ACKNOWLEDGED_RULES.has(ack.rule.replace(/\[.*$/, '')), `unlisted ${ack.rule}`);
    assert.ok(ack.reason.length >= 60, `${ack.path} ${ack.rule} needs a reason, not a label`);
  }
}

function clusterId(template: Template): string {
  const [id] = Object.keys(template.findResources('AWS::ECS::Cluster'));
  assert.ok(id);
  return id;
}
