import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readFlareConfig } from '../src/flare-config';
import { FlareStack } from '../src/flare-stack';

const app = new App();
const config = readFlareConfig((key) => app.node.tryGetContext(key));
new FlareStack(app, 'Flare', {
  config,
  description: 'Flare: a PROMINENCE-compatible batch job service (API on Lambda, jobs on Fargate)',
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
