# syntax=docker/dockerfile:1
# One image for every Herodotus role: API and worker (`serve`), generator
# (`generate`), requester (`query-load`), scenarios (`scenario`), backfill.
# TypeScript runs through tsx at run time (bin/herodotus.mjs): no build step.
#
#   docker build -t herodotus:0.1.0 .
#   docker run --rm herodotus:0.1.0 --help
ARG NODE_IMAGE=node:20-bookworm-slim

# ---- dependencies: production packages only, native ones for this platform
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# npm ci, or, when the lock lacks other platforms' optional packages (it may have been
# written against a partial registry mirror, see scripts/setup.mjs), npm install from
# the same lock without rewriting it. Then prove the native packages load.
RUN { npm ci --omit=dev --no-audit --no-fund \
      || npm install --omit=dev --no-save --no-audit --no-fund; } \
    && node -e "require('esbuild'); require('@swc/core'); require('chdb')" \
    && npm cache clean --force

# ---- runtime
FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    HERODOTUS_HOST=0.0.0.0 \
    HERODOTUS_PORT=8080 \
    HERODOTUS_STATE_DIR=/var/lib/herodotus
WORKDIR /app
# Sources and packages stay owned by root: the process cannot change its own code.
COPY --from=deps /app/node_modules ./node_modules
COPY . .
RUN ln -s /app/bin/herodotus.mjs /usr/local/bin/herodotus \
    && mkdir -p /var/lib/herodotus \
    && chown 1000:1000 /var/lib/herodotus
# The node user of the base image, numerically (Kubernetes' runAsNonRoot can verify it).
USER 1000:1000
EXPOSE 8080
ENTRYPOINT ["herodotus"]
CMD ["serve"]
