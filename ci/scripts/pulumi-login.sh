#!/usr/bin/env bash
# Log the Pulumi CLI in to the state backend PULUMI_BACKEND_URL names:
#   empty            Pulumi Cloud, with PULUMI_ACCESS_TOKEN (the CLI reads it from the environment)
#   s3://BUCKET      a bucket (AWS credentials from cloud-login.sh aws)
#   gs://BUCKET      a bucket (GCP credentials from cloud-login.sh gcp)
#   azblob://CONTAINER  a blob container (AZURE_STORAGE_ACCOUNT; Azure credentials from cloud-login.sh azure)
#   file://PATH      a directory (for trying the pipeline out; nothing shared)
# A self-managed backend keeps secrets with a secrets provider: the stacks name one (awskms://, azurekeyvault://,
# gcpkms://) or PULUMI_CONFIG_PASSPHRASE unlocks the passphrase provider.
set -euo pipefail
# shellcheck source=ci/scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

backend="${PULUMI_BACKEND_URL:-}"
case "$backend" in
    "")
        REQUIRE_HINT="a Pulumi Cloud access token, or set PULUMI_BACKEND_URL to a bucket" require PULUMI_ACCESS_TOKEN
        exec pulumi login --non-interactive
        ;;
    azblob://*)
        REQUIRE_HINT="the storage account of $backend" require AZURE_STORAGE_ACCOUNT
        ;;
    s3://* | gs://* | file://*) ;;
    *)
        die "PULUMI_BACKEND_URL is '$backend'; use empty (Pulumi Cloud), s3://, gs://, azblob:// or file://"
        ;;
esac
if [[ -z "${PULUMI_CONFIG_PASSPHRASE:-}" && -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]]; then
    echo "note: no PULUMI_CONFIG_PASSPHRASE; the stacks must name a cloud secrets provider" >&2
fi
exec pulumi login --non-interactive "$backend"
