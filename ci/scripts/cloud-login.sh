#!/usr/bin/env bash
# cloud-login.sh STACK|aws|azure|gcp|kubernetes
#
# Keyless login for the cloud a stack deploys into: the CI system's OpenID Connect ID token (GitLab `id_tokens`,
# Jenkins' OpenID Connect Provider credential) goes into a file, and the variables the cloud SDKs and Pulumi
# providers read point at it. Prints those variables as `export` lines, so a job runs
#     eval "$(ci/scripts/cloud-login.sh aws-dev)"
# Tokens by cloud: AWS_ID_TOKEN, AZURE_ID_TOKEN, GCP_ID_TOKEN. Long-lived keys in the environment are refused,
# so a forgotten secret variable cannot quietly take the place of the federation.
#
# PARLEY_OIDC_MODE=preview takes the read-only identity (AWS_PREVIEW_ROLE_ARN, AZURE_PREVIEW_CLIENT_ID,
# GCP_PREVIEW_SERVICE_ACCOUNT), which trusts every branch so merge requests can preview; deploy (the default)
# takes AWS_ROLE_ARN, AZURE_CLIENT_ID, GCP_SERVICE_ACCOUNT, which trust the main branch alone (docs/ci.md).
set -euo pipefail
# shellcheck source=ci/scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $# -eq 1 ]] || die "usage: cloud-login.sh STACK|aws|azure|gcp|kubernetes"
case "$1" in
    aws | azure | gcp | kubernetes) cloud="$1" ;;
    *) cloud="$(stack_field "$1" cloud)" ;;
esac

refuse_static_keys() {
    local name
    for name in "$@"; do
        if [[ -n "${!name:-}" ]]; then
            die "$name is set: Parley's pipelines log in to $cloud with OIDC only; remove the long-lived key"
        fi
    done
}

case "${PARLEY_OIDC_MODE:-deploy}" in
    deploy) identity="" ;;
    preview) identity="PREVIEW_" ;;
    *) die "PARLEY_OIDC_MODE is '$PARLEY_OIDC_MODE'; use preview or deploy" ;;
esac
role_var="AWS_${identity}ROLE_ARN"
client_var="AZURE_${identity}CLIENT_ID"
account_var="GCP_${identity}SERVICE_ACCOUNT"

token_dir="${PARLEY_OIDC_DIR:-$(mktemp -d)}"
mkdir -p "$token_dir"
umask 077

# write_token VARIABLE FILE : the ID token, readable by this user alone.
write_token() {
    require "$1"
    printf '%s' "${!1}" >"$2"
}

emit() {
    printf 'export %s=%q\n' "$1" "$2"
}

# A session name AWS accepts ([\w+=,.@-], at most 64 characters) that traces back to the pipeline.
session_name() {
    local raw="parley-${CI_PIPELINE_ID:-${BUILD_TAG:-ci}}"
    raw="${raw//[^A-Za-z0-9+=,.@_-]/-}"
    echo "${raw:0:64}"
}

case "$cloud" in
    aws)
        refuse_static_keys AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
        require "$role_var"
        write_token AWS_ID_TOKEN "$token_dir/aws-web-identity-token"
        emit AWS_ROLE_ARN "${!role_var}"
        emit AWS_WEB_IDENTITY_TOKEN_FILE "$token_dir/aws-web-identity-token"
        emit AWS_ROLE_SESSION_NAME "$(session_name)"
        ;;
    azure)
        refuse_static_keys AZURE_CLIENT_SECRET ARM_CLIENT_SECRET ARM_CLIENT_CERTIFICATE_PATH
        require "$client_var" AZURE_TENANT_ID AZURE_SUBSCRIPTION_ID
        write_token AZURE_ID_TOKEN "$token_dir/azure-federated-token"
        # The Azure SDKs (and the azblob:// state backend) read AZURE_*; the azure-native provider reads ARM_*.
        emit AZURE_CLIENT_ID "${!client_var}"
        emit AZURE_TENANT_ID "$AZURE_TENANT_ID"
        emit AZURE_SUBSCRIPTION_ID "$AZURE_SUBSCRIPTION_ID"
        emit AZURE_FEDERATED_TOKEN_FILE "$token_dir/azure-federated-token"
        emit ARM_USE_OIDC true
        emit ARM_CLIENT_ID "${!client_var}"
        emit ARM_TENANT_ID "$AZURE_TENANT_ID"
        emit ARM_SUBSCRIPTION_ID "$AZURE_SUBSCRIPTION_ID"
        emit ARM_OIDC_TOKEN "$AZURE_ID_TOKEN"
        ;;
    gcp)
        refuse_static_keys GOOGLE_CREDENTIALS GOOGLE_CLOUD_KEYFILE_JSON
        require GCP_WORKLOAD_IDENTITY_PROVIDER "$account_var"
        [[ "$GCP_WORKLOAD_IDENTITY_PROVIDER" == projects/*/locations/global/workloadIdentityPools/*/providers/* ]] ||
            die "GCP_WORKLOAD_IDENTITY_PROVIDER is '$GCP_WORKLOAD_IDENTITY_PROVIDER'; expected projects/NUMBER/locations/global/workloadIdentityPools/POOL/providers/PROVIDER"
        write_token GCP_ID_TOKEN "$token_dir/gcp-id-token"
        # An external account credential: Google's client libraries trade the token for a federated one at
        # STS, then impersonate the service account. It holds no secret, only where to find the token.
        jq -n \
            --arg audience "//iam.googleapis.com/$GCP_WORKLOAD_IDENTITY_PROVIDER" \
            --arg token_file "$token_dir/gcp-id-token" \
            --arg impersonate "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/${!account_var}:generateAccessToken" \
            '{type: "external_account", audience: $audience,
              subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
              token_url: "https://sts.googleapis.com/v1/token",
              credential_source: {file: $token_file},
              service_account_impersonation_url: $impersonate}' >"$token_dir/gcp-credentials.json"
        emit GOOGLE_APPLICATION_CREDENTIALS "$token_dir/gcp-credentials.json"
        emit CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE "$token_dir/gcp-credentials.json"
        ;;
    kubernetes)
        # The cluster comes from the CI system: the GitLab agent for Kubernetes or a Jenkins agent running in
        # the cluster provides KUBECONFIG (preview.sh and deploy.sh pick KUBE_CONTEXT out of it).
        require KUBECONFIG
        [[ -r "$KUBECONFIG" ]] || die "KUBECONFIG is '$KUBECONFIG', which is not a readable file"
        emit KUBECONFIG "$KUBECONFIG"
        ;;
    *)
        die "no login for cloud '$cloud'"
        ;;
esac
