import type { Template } from 'aws-cdk-lib/assertions';

/** One Allow or Deny statement of an identity policy, as the template holds it. */
export interface PolicyStatement {
  /** The logical id of the AWS::IAM::Policy or AWS::IAM::Role that holds it. */
  readonly holder: string;
  /** The logical ids of the roles the policy is attached to (the role itself for inline ones). */
  readonly roles: readonly string[];
  readonly actions: readonly string[];
  readonly resources: readonly unknown[];
  readonly condition: unknown;
}

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

/** Every statement of every identity policy: AWS::IAM::Policy resources and inline role policies. */
export function policyStatements(template: Template): PolicyStatement[] {
  const resources = template.toJSON().Resources as Resources;
  const statements: PolicyStatement[] = [];
  for (const [id, resource] of Object.entries(resources)) {
    if (resource.Type === 'AWS::IAM::Policy') {
      const props = resource.Properties as {
        PolicyDocument: { Statement: RawStatement[] };
        Roles?: { Ref: string }[];
      };
      const roles = (props.Roles ?? []).map((role) => role.Ref);
      statements.push(...props.PolicyDocument.Statement.map((raw) => toStatement(id, roles, raw)));
    }
    if (resource.Type === 'AWS::IAM::Role') {
      const inline = (resource.Properties?.Policies ?? []) as {
        PolicyDocument: { Statement: RawStatement[] };
      }[];
      for (const policy of inline) {
        statements.push(
          ...policy.PolicyDocument.Statement.map((raw) => toStatement(id, [id], raw)),
        );
      }
    }
  }
  return statements;
}

/** The sorted actions all policies attached to one role allow. */
export function actionsOfRole(statements: readonly PolicyStatement[], roleId: string): string[] {
  const actions = statements
    .filter((statement) => statement.roles.includes(roleId))
    .flatMap((statement) => statement.actions);
  return [...new Set(actions)].sort();
}

/** The logical id of the role a function runs with. */
export function roleOfFunction(template: Template, functionId: string): string {
  const resources = template.toJSON().Resources as Resources;
  const role = resources[functionId]?.Properties?.Role as { 'Fn::GetAtt': [string, string] };
  return role['Fn::GetAtt'][0];
}

interface RawStatement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

function toStatement(holder: string, roles: string[], raw: RawStatement): PolicyStatement {
  return {
    holder,
    roles,
    actions: typeof raw.Action === 'string' ? [raw.Action] : raw.Action,
    resources: Array.isArray(raw.Resource) ? raw.Resource : [raw.Resource],
    condition: raw.Condition,
  };
}
