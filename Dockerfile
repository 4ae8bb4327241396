# The toehold relay as a container (fly.io, or any host with a volume for /data). The image runs
# the npm package as `npm install -g` installs it: the JavaScript built at pack time, nothing else.

FROM node:24-bookworm-slim AS pack
WORKDIR /src
COPY package.json package-lock.json ./
# Scripts stay off: the build needs only esbuild's binary (an optional dependency), not the
# `node` devDependency's download.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY bin ./bin
COPY scripts ./scripts
COPY shared ./shared
COPY relay ./relay
COPY agent ./agent
RUN node scripts/build.ts && npm pack --ignore-scripts --pack-destination /tmp && mv /tmp/toehold-*.tgz /tmp/toehold.tgz

FROM node:24-bookworm-slim
# NODE_OPTIONS: the services' Node flags (agent/cli/units.ts NODE_FLAGS): a smaller idle relay.
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-semi-space-size=1 \
    RELAY_DATA_DIR=/data \
    PORT=8080
COPY --from=pack /tmp/toehold.tgz /tmp/toehold.tgz
RUN npm install -g --omit=dev --no-audit --no-fund /tmp/toehold.tgz && rm /tmp/toehold.tgz && npm cache clean --force
WORKDIR /app
COPY ops/relay-entrypoint.sh ./ops/relay-entrypoint.sh
RUN mkdir -p /data && chown node:node /data
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
# Starts as root only to hand a freshly mounted volume to the unprivileged `node` user.
ENTRYPOINT ["/app/ops/relay-entrypoint.sh"]
CMD ["toehold", "relay"]
