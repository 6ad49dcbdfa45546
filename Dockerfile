# syntax=docker/dockerfile:1
# The project image: the `workshop` package, its CLI and JupyterLab. In docker-compose.yml the
# `model` service builds it (the only service that does: issue 12, item 1); `setup` and `jupyter`
# run the same image by name.
#
# Dependencies come from uv.lock only (`uv sync --locked`: the exact versions CI tested; a lock
# out of date with pyproject.toml fails the build instead of resolving anything). Layers are
# ordered so that editing the source, or rebuilding with another UID, rebuilds in seconds.

# Python 3.11 (the project's version), Debian bookworm slim; multi-arch (amd64 + arm64).
FROM python:3.11.15-slim-bookworm

# PYTHONDONTWRITEBYTECODE keeps the running containers from writing .pyc files;
# UV_COMPILE_BYTECODE makes `uv sync` write them once at build time instead, so the model
# service, the monitor and every notebook kernel do not compile pandas, scikit-learn and scipy
# from source at each start (4 s per process measured outside Docker, see the Makefile).
ENV PYTHONDONTWRITEBYTECODE=1 \
    UV_COMPILE_BYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_PYTHON_DOWNLOADS=never \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# uv from PyPI, the release the Makefile pins (UV_VERSION there; a test compares them).
ARG UV_VERSION=0.13.9
RUN pip install "uv==${UV_VERSION}"

WORKDIR /app

# 1) Dependencies only, from the lock: cached until pyproject.toml or uv.lock change.
COPY pyproject.toml uv.lock ./
RUN uv sync --locked --no-install-project --python /usr/local/bin/python3.11

# 2) JupyterLab settings shipped with the image (issue 12, item 2): idle kernels are culled after
#    30 min, and closing a notebook's tab shuts its kernel down, so kernels do not pile up in the
#    container's memory limit. /etc/jupyter is in jupyter_server's config path; overrides.json in
#    {sys.prefix}/share/jupyter/lab/settings/ sets JupyterLab's defaults.
COPY infra/jupyter/jupyter_server_config.json /etc/jupyter/jupyter_server_config.json
COPY infra/jupyter/overrides.json /opt/venv/share/jupyter/lab/settings/overrides.json

# 3) A non-root user. On Linux, build with your uid/gid (--build-arg UID=$(id -u) --build-arg
#    GID=$(id -g)) so files written into the mounted notebooks/ folder belong to you. A GID that
#    already exists in Debian (20 dialout, 100 users: common on Linux and macOS hosts) is reused
#    instead of failing groupadd. /var/lib/workshop is WORKSHOP_HOME: a fresh named volume mounted
#    on it starts with this owner; an existing one is fixed by infra/workshop/fix-home-owner.
ARG UID=1000
ARG GID=1000
RUN if ! getent group "${GID}" >/dev/null; then groupadd --gid "${GID}" workshop; fi
RUN useradd --uid "${UID}" --gid "${GID}" --create-home --shell /bin/bash workshop \
 && mkdir -p /var/lib/workshop \
 && chown "${UID}:${GID}" /app /var/lib/workshop

# 4) The source, then the package itself (editable, from the lock: nothing else is resolved), so
#    that workshop.config.project_root() is /app, where infra/ and notebooks/ are.
COPY --chown=${UID}:${GID} README.md ./
COPY --chown=${UID}:${GID} workshop ./workshop
COPY --chown=${UID}:${GID} infra ./infra
COPY --chown=${UID}:${GID} notebooks ./notebooks
RUN uv sync --locked --python /usr/local/bin/python3.11 \
 && workshop --help > /dev/null

ENV WORKSHOP_HOME=/var/lib/workshop
USER workshop

EXPOSE 11000 8888
CMD ["workshop", "serve", "--host", "0.0.0.0", "--port", "11000"]
