# Parley's runtime image: the `parley` command in a virtual environment, run as an unprivileged user, with
# nothing written outside the /data volume (and /tmp when mounted), so it runs with a read-only root.
#
#   podman build --format docker -t parley .        # HEALTHCHECK needs the docker format
#   podman run IMAGE migrate                         # migrations are explicit, never run at start
#   podman run --read-only -v parley-data:/data -p 8000:8000 IMAGE
#
# docs/containers.md has the details. The base is an argument so a locally built Debian base can stand in
# for python:3.12-slim; both stages use it, as the venv links to the base's python3.
ARG BASE_IMAGE=python:3.12-slim

FROM ${BASE_IMAGE} AS builder
# Images imported from a root filesystem carry no environment, so PATH is spelt out for every base.
ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# pip trusts the image's CA store (a build may mount a bundle there) and reads from PyPI unless told otherwise.
ARG PIP_CERT=/etc/ssl/certs/ca-certificates.crt
ARG PIP_INDEX_URL=https://pypi.org/simple
RUN python3 -m venv /opt/venv
WORKDIR /src
# The runtime dependencies get a layer of their own, rebuilt only when pyproject.toml changes. Build-only weight
# goes (setuptools, which Python 3.11's venv brings; C sources some wheels ship). Bytecode is compiled here, as
# the running container cannot write it; unchecked-hash skips the source mtime check at import.
COPY pyproject.toml ./
RUN python3 -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' \
        > requirements.txt \
    && pip install --requirement requirements.txt \
    && pip uninstall --yes setuptools \
    && find /opt/venv \( -name '*.c' -o -name '*.h' -o -name '*.pyx' -o -name '*.pxd' \) -delete \
    && python3 -m compileall -q -f --invalidation-mode unchecked-hash /opt/venv
COPY README.md ./
COPY app ./app
RUN pip wheel --no-deps --wheel-dir /wheels . \
    && pip install --no-deps --no-compile /wheels/parley-*.whl \
    && python3 -m compileall -q --invalidation-mode unchecked-hash /opt/venv/lib/python3*/site-packages/app

FROM ${BASE_IMAGE}
ARG VERSION=0.1.0
ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PARLEY_DATABASE_URL=sqlite+aiosqlite:////data/parley.db
RUN groupadd --gid 10001 parley \
    && useradd --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin parley \
    && install -d -o 10001 -g 10001 -m 0750 /data
COPY --from=builder /opt/venv /opt/venv
WORKDIR /data
VOLUME ["/data"]
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
LABEL org.opencontainers.image.title="Parley" \
      org.opencontainers.image.description="Self-hosted instant messaging: FastAPI and WebSockets" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
ENTRYPOINT ["parley"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
