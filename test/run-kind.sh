#!/bin/sh
# Runs one kind of test (unit, integration, e2e, infra): every *.test.ts under test/<kind>.
set -eu
kind=$1
shift
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
export FLARE_LOG_LEVEL="${FLARE_LOG_LEVEL:-WARN}"
concurrency=1
[ "$kind" = unit ] && concurrency=2
files=$(find "test/$kind" -name '*.test.ts' | sort)
# shellcheck disable=SC2086 # one argument per file
exec node --import tsx --test --test-reporter=spec --test-concurrency="$concurrency" $files "$@"
