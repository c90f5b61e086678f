import assert from 'node:assert/strict';
import type { Template } from 'aws-cdk-lib/assertions';

export type Props = Record<string, unknown>;

/** One resource of a synthesized template. */
export interface TemplateResource {
  readonly Properties: Props;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}

/** The one resource of `type`, with its logical id; fails when there is not exactly one. */
export function onlyResource(template: Template, type: string): [string, TemplateResource] {
  const found = resourcesOf(template, type);
  assert.equal(found.length, 1, `one ${type}`);
  return found[0] as [string, TemplateResource];
}

export function resourcesOf(template: Template, type: string): [string, TemplateResource][] {
  return Object.entries(template.findResources(type)) as [string, TemplateResource][];
}

/** The API's route functions (CDK's own helper functions carry no FLARE_ROUTE). */
export function routeFunctions(template: Template): [string, TemplateResource][] {
  return resourcesOf(template, 'AWS::Lambda::Function').filter(
    ([, fn]) => functionEnv(fn).FLARE_ROUTE !== undefined,
  );
}

export function functionEnv(fn: TemplateResource): Record<string, unknown> {
  const environment = fn.Properties.Environment as { Variables?: Record<string, unknown> };
  return environment?.Variables ?? {};
}

/** A container definition's environment as name → value. */
export function containerEnv(taskDefinition: TemplateResource): Record<string, unknown> {
  const [container] = taskDefinition.Properties.ContainerDefinitions as {
    Environment: { Name: string; Value: unknown }[];
  }[];
  return Object.fromEntries(container?.Environment.map((e) => [e.Name, e.Value]) ?? []);
}

/** The issuer URL of the stack's Cognito pool, as the template builds it. */
export function cognitoIssuer(poolId: string): unknown {
  return {
    'Fn::Join': [
      '',
      [
        'https://cognito-idp.',
        { Ref: 'AWS::Region' },
        '.',
        { Ref: 'AWS::URLSuffix' },
        '/',
        { Ref: poolId },
      ],
    ],
  };
}
