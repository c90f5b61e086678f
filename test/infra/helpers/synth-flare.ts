import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { readFlareConfig } from '../../../infra/src/flare-config';
import { FlareStack } from '../../../infra/src/flare-stack';

const CDK_JSON = new URL('../../../cdk.json', import.meta.url);

/** cdk.json's context without Flare's own keys: the CDK feature flags every synth uses. */
export function featureFlags(): Record<string, unknown> {
  const { context } = JSON.parse(readFileSync(CDK_JSON, 'utf8')) as {
    context: Record<string, unknown>;
  };
  return Object.fromEntries(Object.entries(context).filter(([key]) => !key.startsWith('flare:')));
}

/** cdk.json's Flare keys: the defaults an operator starts from. */
export function cdkJsonFlareContext(): Record<string, unknown> {
  const { context } = JSON.parse(readFileSync(CDK_JSON, 'utf8')) as {
    context: Record<string, unknown>;
  };
  return Object.fromEntries(Object.entries(context).filter(([key]) => key.startsWith('flare:')));
}

export interface SynthesizedFlare {
  readonly app: App;
  readonly stack: FlareStack;
  readonly template: Template;
  /** The cloud assembly's directory, with the bundled assets and the assets manifest. */
  readonly outdir: string;
  /** Removes the cloud assembly written to a temporary directory. */
  cleanUp(): void;
}

/**
 * Synthesizes the Flare stack as `cdk synth` does (cdk.json's feature flags, the given Flare
 * context) into a temporary directory. Bundles the route handler with the local esbuild and
 * fingerprints the worker's Docker build context; Docker itself is not needed.
 */
export function synthFlare(flareContext: Record<string, unknown>): SynthesizedFlare {
  const outdir = mkdtempSync(join(tmpdir(), 'flare-infra-'));
  const app = new App({
    outdir,
    context: { ...featureFlags(), ...flareContext },
    // CloudFormation's schema checks take most of a synthesis (10 s of 14 on two cores) and
    // only warn; `npm run synth` runs them on the real app.
    builtinCloudFormationValidation: false,
  });
  const config = readFlareConfig((key) => app.node.tryGetContext(key));
  const stack = new FlareStack(app, 'Flare', { config });
  const template = Template.fromStack(stack);
  return {
    app,
    stack,
    template,
    outdir,
    cleanUp: () => rmSync(outdir, { recursive: true, force: true }),
  };
}

/** The assets manifest `cdk deploy` publishes from: zip files and Docker images. */
export interface AssetManifest {
  readonly files: Record<string, { source: { path: string; packaging: string } }>;
  readonly dockerImages: Record<
    string,
    { source: { directory: string; dockerFile?: string; platform?: string } }
  >;
}

export function assetManifest(synthesized: SynthesizedFlare): AssetManifest {
  const file = join(synthesized.outdir, `${synthesized.stack.artifactId}.assets.json`);
  return JSON.parse(readFileSync(file, 'utf8')) as AssetManifest;
}
