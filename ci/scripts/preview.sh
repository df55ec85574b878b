#!/usr/bin/env bash
# preview.sh STACK
#
# `pulumi preview` of one stack with the policy pack, then Parley's own reading of that preview:
#   reports/STACK/preview.json  what `pulumi preview --json` wrote
#   reports/STACK/policy.txt    `parley policy --file preview.json`
#   reports/STACK/cost.json, cost.html   `parley cost --file preview.json` as JSON and HTML
#   reports/STACK/cost.md       the Markdown report, after its difference from PARLEY_COST_BASELINE_DIR/STACK/cost.json
#                               when that exists (main's reports)
# Exit status: the preview's when it failed (a mandatory policy violation fails it too), else parley policy's
# (1 on a mandatory violation), else 0. The cost reports are written whenever the preview wrote JSON, so a
# failing merge request still shows what it would cost.
set -euo pipefail
# shellcheck source=ci/scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -eq 1 ]] || die "usage: preview.sh STACK"
stack="$1"
stack_field "$stack" target >/dev/null
cd "$PARLEY_ROOT"
out="$(report_dir "$stack")"
mkdir -p "$out"

open_stack "$stack" preview
preview_status=0
pulumi preview "${PULUMI_ARGS[@]}" --json --policy-pack "$PARLEY_ROOT/policies" >"$out/preview.json" ||
    preview_status=$?
if [[ ! -s "$out/preview.json" ]]; then
    echo "error: pulumi preview of $stack wrote no JSON (exit $preview_status)" >&2
    exit $((preview_status == 0 ? 1 : preview_status))
fi

policy_status=0
parley policy --file "$out/preview.json" >"$out/policy.txt" || policy_status=$?
cat "$out/policy.txt"

# cost.json and cost.html are whole reports (cost.json is the next run's baseline; `--baseline` would turn both
# into a difference); cost.md, the merge request comment, leads with the difference when there is a baseline.
parley cost --file "$out/preview.json" --format json >"$out/cost.json"
parley cost --file "$out/preview.json" --format html >"$out/cost.html"
baseline="${PARLEY_COST_BASELINE_DIR:+$PARLEY_COST_BASELINE_DIR/$stack/cost.json}"
{
    if [[ -n "$baseline" && -f "$baseline" ]]; then
        parley cost --file "$out/preview.json" --format markdown --baseline "$baseline"
        echo
    fi
    parley cost --file "$out/preview.json" --format markdown
} >"$out/cost.md"

if ((preview_status != 0)); then
    echo "error: pulumi preview of $stack failed (exit $preview_status); see $out/preview.json" >&2
    exit "$preview_status"
fi
if ((policy_status != 0)); then
    echo "error: $stack breaks mandatory policies; see $out/policy.txt" >&2
fi
exit "$policy_status"
