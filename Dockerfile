# Wajah server image: the release of `npm run build` on Node.js 24, as a non-root user, with the face
# models inside (they ship in npm packages) and the data directory as a volume. docs/operations.md.
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json README.md ./
COPY scripts/build.mjs scripts/build.mjs
COPY src src
COPY web web
COPY bin bin
COPY docs docs
RUN node scripts/build.mjs --out /opt/wajah

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    WAJAH_DATA_DIR=/var/lib/wajah
RUN groupadd --system --gid 10001 wajah \
 && useradd --system --uid 10001 --gid wajah --home-dir /var/lib/wajah --shell /usr/sbin/nologin wajah \
 && mkdir -p /var/lib/wajah && chown wajah:wajah /var/lib/wajah && chmod 0700 /var/lib/wajah
COPY --from=build --chown=root:root /opt/wajah /opt/wajah
WORKDIR /opt/wajah
USER wajah
VOLUME ["/var/lib/wajah"]
EXPOSE 8000
# Readiness: database reachable, face models loaded (GET /readyz needs no credentials).
HEALTHCHECK --interval=10s --timeout=3s --start-period=90s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8000)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# server.ts handles SIGTERM itself (drain, close, exit within WAJAH_SHUTDOWN_TIMEOUT_MS), also as PID 1.
STOPSIGNAL SIGTERM
CMD ["node", "src/server.ts"]
