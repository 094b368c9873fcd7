# syntax=docker/dockerfile:1
# The SCA orchestrator's Airflow image: the official Airflow 3.3.2 image with this project
# installed as a package (the sca provider: hooks, operators, triggers, connection forms, extra
# links), the Celery executor, the DAGs and the project's airflow.cfg. docker-compose.yaml builds
# and runs it; see deploy/README.md.
#
#   docker build --target airflow -t sca-orchestrator:latest .   # what every Airflow service runs
#   docker build --target demo -t sca-orchestrator-demo:latest .  # + scancode-toolkit, for the sandboxes
#
# Stages: base (everything), demo (base + scancode-toolkit, for the PurlDB sandbox's seed) and
# airflow (base as is; the last stage, so a plain `docker build .` gives the production image).

FROM apache/airflow:3.3.2-python3.12 AS base

# Folders that docker-compose.yaml mounts named volumes on. A new named volume starts as a copy
# of what the image has at its mount point, so creating them here, owned by the airflow user,
# gives the volumes the right owner without running anything as root at start.
USER root
RUN mkdir -p /opt/sca-orchestrator /opt/airflow/auth \
        /var/lib/sca/artefacts /var/lib/sca/results /var/lib/sca/inputs /var/lib/sca/sandbox \
    && chown -R airflow:0 /opt/sca-orchestrator /opt/airflow/auth /var/lib/sca \
    && chmod 700 /opt/airflow/auth
USER airflow

# The package first (pyproject.toml installs plugins/sca as the `sca` package and its provider
# entry point), so that changing a DAG does not reinstall the dependencies. requirements.lock
# holds the versions the project is tested with: every package it names is installed at that
# version. Airflow stays at the base image's version. celery 5.7.0 breaks the worker at start
# (../shared/notes/airflow3-provider.md): hence the upper bound.
COPY --chown=airflow:0 pyproject.toml README.md requirements.lock /opt/sca-orchestrator/
COPY --chown=airflow:0 plugins /opt/sca-orchestrator/plugins
# Extra distributions, e.g. "apache-airflow-providers-amazon[s3fs]" for an s3:// artefact store.
ARG SCA_EXTRA_PIP_PACKAGES=""
RUN pip install --no-cache-dir -c /opt/sca-orchestrator/requirements.lock \
        "apache-airflow==${AIRFLOW_VERSION}" \
        /opt/sca-orchestrator \
        apache-airflow-providers-celery \
        "celery[redis]>=5.5,<5.7" \
        ${SCA_EXTRA_PIP_PACKAGES} \
    && rm -rf /opt/sca-orchestrator/build /opt/sca-orchestrator/plugins/*.egg-info

# The DAGs, the project's Airflow config, the portfolio and the demo inputs, the sandboxes.
COPY --chown=airflow:0 airflow.cfg /opt/sca-orchestrator/airflow.cfg
COPY --chown=airflow:0 dags /opt/sca-orchestrator/dags
COPY --chown=airflow:0 include /opt/sca-orchestrator/include
COPY --chown=airflow:0 sandboxes /opt/sca-orchestrator/sandboxes
# The bundled demo inputs seed the sca-inputs volume (SCA_INPUTS_DIR) when it is first created.
COPY --chown=airflow:0 include/demo/ /var/lib/sca/inputs/

ENV AIRFLOW_CONFIG=/opt/sca-orchestrator/airflow.cfg \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/sca-orchestrator/dags

# The PurlDB sandbox builds its index with scancode-toolkit (the version the project pins).
FROM base AS demo
RUN pip install --no-cache-dir -c /opt/sca-orchestrator/requirements.lock \
        "apache-airflow==${AIRFLOW_VERSION}" scancode-toolkit pluggy

FROM base AS airflow
