#!/usr/bin/env bash
# build-image.sh
#
# Build the runtime image from the root Dockerfile as PARLEY_IMAGE:PARLEY_IMAGE_TAG and, when PARLEY_IMAGE_PUSH
# is true, push it. CONTAINER_ENGINE is docker (default) or podman. With REGISTRY_USER and REGISTRY_PASSWORD
# set (GitLab: CI_REGISTRY_USER and the job's own CI_JOB_TOKEN, valid for that job alone) it logs in to the
# registry first; otherwise the engine must be logged in already (a credential helper on the agent).
set -euo pipefail
# shellcheck source=ci/scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require PARLEY_IMAGE PARLEY_IMAGE_TAG
engine="${CONTAINER_ENGINE:-docker}"
push="${PARLEY_IMAGE_PUSH:-false}"
case "$push" in
    true | false) ;;
    *) die "PARLEY_IMAGE_PUSH is '$push'; use true or false" ;;
esac
[[ "$PARLEY_IMAGE_TAG" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] ||
    die "PARLEY_IMAGE_TAG is '$PARLEY_IMAGE_TAG', which is not a valid image tag"
image="$PARLEY_IMAGE:$PARLEY_IMAGE_TAG"

cd "$PARLEY_ROOT"
version="$(python3 -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')"
# The docker format keeps the Dockerfile's HEALTHCHECK (podman builds OCI images without it by default).
format=()
[[ "$engine" == podman ]] && format=(--format docker)
"$engine" build "${format[@]}" --build-arg "VERSION=$version" --tag "$image" .
if [[ "$push" == true ]]; then
    if [[ -n "${REGISTRY_USER:-}" ]]; then
        REQUIRE_HINT="the password of REGISTRY_USER" require REGISTRY_PASSWORD
        printf '%s' "$REGISTRY_PASSWORD" |
            "$engine" login --username "$REGISTRY_USER" --password-stdin "${PARLEY_IMAGE%%/*}"
    fi
    "$engine" push "$image"
fi
echo "$image"
