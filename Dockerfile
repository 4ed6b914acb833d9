# Meshgate in one image: `meshgate server`, `agent`, `proxy`, `gateway` and the `k8s` commands (the chart and
# `meshgate k8s manifests` run every component from it). Two stages: the first compiles TypeScript and the UI with
# the dev dependencies; the second carries only dist/, the production dependencies and iptables (the injected
# init container installs transparent mode's redirect with it), and runs as an unprivileged user.
FROM node:24-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# No install scripts: the `node` dev dependency would fetch a second Node binary the image already has.
RUN npm ci --ignore-scripts && rm -f node_modules/.bin/node
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json && npx vite build --config src/ui/vite.config.ts

FROM node:24-slim
RUN apt-get update \
  && apt-get install -y --no-install-recommends iptables \
  && rm -rf /var/lib/apt/lists/* \
  && groupadd --system --gid 10001 meshgate \
  && useradd --system --uid 10001 --gid meshgate --home-dir /meshgate --no-create-home --shell /usr/sbin/nologin meshgate \
  && mkdir -p /meshgate/data /meshgate/config \
  && chown -R meshgate:meshgate /meshgate
WORKDIR /opt/meshgate
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY bin ./bin
COPY --from=build /src/dist ./dist
USER 10001:10001
# HTTP API and UI, DNS (TCP and UDP), the injector's webhook.
EXPOSE 8500 8600 8600/udp 8080
ENTRYPOINT ["/opt/meshgate/bin/meshgate"]
CMD ["--help"]
