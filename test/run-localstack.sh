#!/bin/sh
# Runs the AWS adapters' integration tests against LocalStack (or another AWS emulator) at
# AWS_ENDPOINT_URL, instead of the emulators that the tests otherwise start themselves.
set -eu
if [ -z "${AWS_ENDPOINT_URL:-}" ]; then
  echo 'npm run test:localstack: set AWS_ENDPOINT_URL to LocalStack, e.g.' >&2
  echo '  AWS_ENDPOINT_URL=http://localhost:4566 npm run test:localstack' >&2
  echo '(npm run test:integration runs the same tests against embedded emulators)' >&2
  exit 2
fi
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
export FLARE_LOG_LEVEL="${FLARE_LOG_LEVEL:-WARN}"
exec node --import tsx --test --test-reporter=spec --test-concurrency=1 \
  test/integration/dynamodb-job-store.test.ts \
  test/integration/sqs-job-queue.test.ts \
  test/integration/aws-log-store.test.ts \
  test/integration/aws-log-store-live.test.ts \
  test/integration/api-handlers.test.ts \
  "$@"
