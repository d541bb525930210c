# scim-sync in a container: Node 20 slim, the package installed globally from its packed tarball
# (the install README describes), run as an unprivileged user, the state directory a volume.
#
#   docker build -t scim-sync .
#   docker run --rm -v scim-sync-state:/var/lib/scim-sync -v "$PWD/org.yaml:/etc/scim-sync/org.yaml:ro" \
#     -e SLACK_SCIM_TOKEN scim-sync run --config /etc/scim-sync/org.yaml
#
# org.yaml's state.dir must be /var/lib/scim-sync (the volume). Logs are JSON lines on stderr
# (docker logs); `docker stop` sends SIGTERM: operations in flight finish, the run lock is released.
FROM node:20-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json README.md ./
COPY bin ./bin
COPY scripts ./scripts
COPY src ./src
COPY config ./config
COPY docs ./docs
RUN npm run build && npm pack --ignore-scripts --pack-destination /tmp

FROM node:20-slim
ENV NODE_ENV=production
COPY --from=build /tmp/scim-sync-*.tgz /tmp/
RUN npm install -g --no-audit --no-fund /tmp/scim-sync-*.tgz \
 && rm /tmp/scim-sync-*.tgz \
 && npm cache clean --force
RUN groupadd --system --gid 10001 scim-sync \
 && useradd --system --uid 10001 --gid scim-sync --home-dir /var/lib/scim-sync --shell /usr/sbin/nologin scim-sync \
 && mkdir -p /var/lib/scim-sync /etc/scim-sync \
 && chown scim-sync:scim-sync /var/lib/scim-sync \
 && chmod 0700 /var/lib/scim-sync
USER 10001:10001
WORKDIR /var/lib/scim-sync
VOLUME ["/var/lib/scim-sync"]
# serve's endpoints (serve.listen: 0.0.0.0:8080), and worker/schedule --metrics-port 9464.
EXPOSE 8080 9464
ENTRYPOINT ["scim-sync"]
CMD ["--help"]
