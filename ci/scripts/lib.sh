# shellcheck shell=bash
# Helpers every script in ci/scripts sources. Exit codes: 2 for a missing or bad setting (the message names
# it), anything else is the failing tool's own.

# The repository root: scripts run from anywhere, pulumi and parley from here.
PARLEY_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export PARLEY_ROOT

die() {
    echo "error: $*" >&2
    exit 2
}

# require NAME... : stop with a message naming the first variable that is unset or empty.
require() {
    local name
    for name in "$@"; do
        if [[ -z "${!name:-}" ]]; then
            die "$name is not set; ${REQUIRE_HINT:-see docs/ci.md, 'Variables and secrets'}"
        fi
    done
}

# stack_field STACK FIELD : target, cloud or environment of stacks/Pulumi.<STACK>.yaml (ci/stacks.py).
# `python3` and `parley` are the project's: jobs put its virtualenv's bin first on PATH.
stack_field() {
    (cd "$PARLEY_ROOT" && python3 -m ci.stacks show "$1" --field "$2" --root "$PARLEY_ROOT") || exit 2
}

# The stack as the backend names it: organisation-qualified on Pulumi Cloud when PULUMI_ORG is set.
stack_ref() {
    echo "${PULUMI_ORG:+$PULUMI_ORG/}$1"
}

# Where a stack's reports go (preview.json, policy.txt, cost.*): artifacts of both CI systems.
report_dir() {
    echo "${PARLEY_REPORT_DIR:-$PARLEY_ROOT/reports}/$1"
}

# open_stack STACK MODE : log in to its cloud and the state backend, build what its program reads from disk; select
# nothing: every pulumi command names its stack, as parallel jobs on one machine share Pulumi's selected
# stack. Leaves in PULUMI_ARGS the arguments every pulumi command on it takes.
open_stack() {
    local stack="$1" exports
    # MODE (preview or deploy) picks the cloud identity: read-only for previews (cloud-login.sh).
    exports="$(PARLEY_OIDC_MODE="$2" "$PARLEY_ROOT/ci/scripts/cloud-login.sh" "$stack")" || exit $?
    eval "$exports"
    "$PARLEY_ROOT/ci/scripts/pulumi-login.sh"
    PULUMI_ARGS=(--stack "$(stack_ref "$stack")" --non-interactive)
    case "$(stack_field "$stack" target)" in
        aws-serverless)
            # infra/aws/serverless.py reads the functions' code from build/lambda.
            parley package lambda --out "$PARLEY_ROOT/build/lambda"
            ;;
        kubernetes)
            if [[ -n "${KUBE_CONTEXT:-}" ]]; then
                PULUMI_ARGS+=(--config "parley:kubeContext=$KUBE_CONTEXT")
            fi
            ;;
    esac
}
