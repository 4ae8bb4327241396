# The toehold relay as a container (fly.io, or any host with a volume for /data).
# Node 24 runs the TypeScript sources directly (type stripping): no build step.

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    RELAY_DATA_DIR=/data \
    PORT=8080
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY shared ./shared
COPY relay ./relay
COPY agent ./agent
COPY ops/relay-entrypoint.sh ./ops/relay-entrypoint.sh
RUN mkdir -p /data && chown node:node /data
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
# Starts as root only to hand a freshly mounted volume to the unprivileged `node` user.
ENTRYPOINT ["/app/ops/relay-entrypoint.sh"]
CMD ["node", "bin/toehold.ts", "relay"]
