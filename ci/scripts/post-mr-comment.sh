#!/usr/bin/env bash
# post-mr-comment.sh FILE...
#
# Put the files (Markdown cost reports, one per stack) into one comment on the merge request of this pipeline,
# through GitLab's notes API. Each pipeline updates Parley's comment in place, found by the marker on its first
# line, rather than adding one more comment per push.
#
# Needs: CI_API_V4_URL, CI_PROJECT_ID, CI_MERGE_REQUEST_IID (GitLab sets them in merge request pipelines) and
# PARLEY_GITLAB_TOKEN, a project access token with the `api` scope (GitLab's own token; the job token cannot
# write notes).
set -euo pipefail
# shellcheck source=ci/scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MARKER="<!-- parley-cost-report -->"
# GitLab refuses notes over 1,000,000 characters; stay well below with room for the notice.
LIMIT=900000

[[ $# -ge 1 ]] || die "usage: post-mr-comment.sh FILE..."
for file in "$@"; do
    [[ -r "$file" ]] || die "cannot read $file"
done
REQUIRE_HINT="this runs in GitLab merge request pipelines" require CI_API_V4_URL CI_PROJECT_ID CI_MERGE_REQUEST_IID
REQUIRE_HINT="a project access token with the api scope (docs/ci.md)" require PARLEY_GITLAB_TOKEN

body="$(mktemp)"
trap 'rm -f "$body" "$body.json"' EXIT
{
    echo "$MARKER"
    echo "## Parley: cost of this change, per stack"
    for file in "$@"; do
        echo
        cat "$file"
    done
    echo
    echo "_Pipeline ${CI_PIPELINE_URL:-$CI_PIPELINE_ID}, commit ${CI_COMMIT_SHORT_SHA:-unknown}._"
} >"$body"
if (($(wc -c <"$body") > LIMIT)); then
    head -c "$LIMIT" "$body" >"$body.cut"
    printf '\n\n_Cut short: the full reports are the pipeline artifacts._\n' >>"$body.cut"
    mv "$body.cut" "$body"
fi
jq -Rs '{body: .}' <"$body" >"$body.json"

notes="$CI_API_V4_URL/projects/$CI_PROJECT_ID/merge_requests/$CI_MERGE_REQUEST_IID/notes"
api() {
    curl --silent --show-error --fail-with-body --header "PRIVATE-TOKEN: $PARLEY_GITLAB_TOKEN" "$@"
}

# Parley's comment is one of the first the bot wrote; 100 notes, oldest first, is where it lives.
existing="$(api "$notes?sort=asc&order_by=created_at&per_page=100" |
    jq -r --arg marker "$MARKER" '[.[] | select(.body | startswith($marker))][0].id // empty')"
if [[ -n "$existing" ]]; then
    api --request PUT --header "Content-Type: application/json" --data "@$body.json" "$notes/$existing" >/dev/null
    echo "updated note $existing on merge request !$CI_MERGE_REQUEST_IID"
else
    api --request POST --header "Content-Type: application/json" --data "@$body.json" "$notes" >/dev/null
    echo "added a note to merge request !$CI_MERGE_REQUEST_IID"
fi
