"""Parley on Kubernetes: one set of objects, built once as plain dicts (`manifests.py`), used two ways.

`python -m infra.kubernetes.render` writes them as kustomize YAML under `deploy/kubernetes/`; the Pulumi
component in `app.py` creates them as resources. This package's own modules import no Pulumi SDK except
`app.py`, so rendering needs neither Pulumi nor a cluster."""
