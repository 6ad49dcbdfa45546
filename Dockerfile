# syntax=docker/dockerfile:1
# The project image: the `workshop` package, its CLI and JupyterLab. docker-compose.yml runs it as
# `model` (workshop serve), `jupyter` (JupyterLab) and `setup` (workshop setup).
#
# Layers are ordered so that editing the source rebuilds in seconds: the dependencies are
# installed from pyproject.toml alone, before any source file is copied.

# Python 3.11 (the project's version), Debian bookworm slim; multi-arch (amd64 + arm64).
FROM python:3.11.15-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# A non-root user. On Linux, build with your uid (--build-arg UID=$(id -u)) so files written into
# the mounted notebooks/ folder belong to you. /var/lib/workshop is WORKSHOP_HOME: created here and
# owned by the user, so the named volume mounted on it starts with the same owner.
ARG UID=1000
ARG GID=1000
RUN groupadd --gid "${GID}" workshop \
 && useradd --uid "${UID}" --gid workshop --create-home --shell /bin/bash workshop \
 && mkdir -p /app /var/lib/workshop \
 && chown workshop:workshop /app /var/lib/workshop

WORKDIR /app

# 1) Dependencies only: the [project].dependencies of pyproject.toml (the same list pip would
#    resolve for the package), plus the build backend for step 2. Cached until pyproject changes.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt "setuptools>=77" wheel \
 && rm /tmp/requirements.txt

# 2) The source, then the package itself without dependencies (already there). Editable, so that
#    workshop.config.project_root() is /app, where infra/ (the index template) and notebooks/ are.
COPY --chown=workshop:workshop README.md ./
COPY --chown=workshop:workshop workshop ./workshop
COPY --chown=workshop:workshop infra ./infra
COPY --chown=workshop:workshop notebooks ./notebooks
RUN pip install --no-deps --no-build-isolation -e . \
 && workshop --help > /dev/null

ENV WORKSHOP_HOME=/var/lib/workshop
USER workshop

EXPOSE 11000 8888
CMD ["workshop", "serve", "--host", "0.0.0.0", "--port", "11000"]
