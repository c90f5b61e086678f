import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';

/** A rule cdk-nag's AwsSolutions pack reports, with the constructs it reports it on. */
export interface NagFinding {
  readonly rule: string;
  readonly severity: string;
  readonly paths: readonly string[];
}

/**
 * Runs the AwsSolutions pack over a synthesized app, as `cdk synth` does through CDK's
 * policy validation, and returns what it reports (acknowledged findings are left out).
 */
export function awsSolutionsFindings(app: IConstruct): NagFinding[] {
  const report = new AwsSolutionsChecks().validateScope(app);
  return report.violations.map((violation) => ({
    rule: violation.ruleName,
    severity: violation.severity ?? 'error',
    paths: violation.violatingResources.map((resource) => resource.constructPath ?? '?'),
  }));
}

export interface Acknowledgment {
  readonly path: string;
  readonly rule: string;
  readonly reason: string;
}

/** Every rule acknowledged anywhere in the tree, with its reason. */
export function acknowledgments(root: IConstruct): Acknowledgment[] {
  const found: Acknowledgment[] = [];
  for (const construct of root.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, unknown>)) {
        found.push({
          path: construct.node.path,
          rule: id.replace(/^annotation::/i, ''),
          reason: String(reason),
        });
      }
    }
  }
  return found;
}
