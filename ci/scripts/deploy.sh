#!/usr/bin/env bash
# deploy.sh STACK
#
# `pulumi up` of one stack: refreshed first, so drift made outside Pulumi shows in the plan rather than being
# overwritten blindly, and enforced by the policy pack (a mandatory violation stops the update). Writes the
# stack's outputs to reports/STACK/outputs.json for the CI system to show.
set -euo pipefail
# shellcheck source=ci/scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -eq 1 ]] || die "usage: deploy.sh STACK"
stack="$1"
environment="$(stack_field "$stack" environment)"
# A job deploys the environment it was approved for: a stack of another one is a wiring mistake.
if [[ -n "${PARLEY_ENVIRONMENT:-}" && "$PARLEY_ENVIRONMENT" != "$environment" ]]; then
    die "stack $stack belongs to environment $environment, but PARLEY_ENVIRONMENT is $PARLEY_ENVIRONMENT"
fi
cd "$PARLEY_ROOT"
out="$(report_dir "$stack")"
mkdir -p "$out"

open_stack "$stack" deploy
pulumi up "${PULUMI_ARGS[@]}" --yes --refresh --diff --policy-pack "$PARLEY_ROOT/policies" \
    --message "${CI_COMMIT_TITLE:-deploy} (${CI_COMMIT_SHORT_SHA:-${GIT_COMMIT:-local}})"
pulumi stack output "${PULUMI_ARGS[@]:0:2}" --json >"$out/outputs.json"
