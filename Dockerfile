# Watchpost image: one image for every role (ROLE=api, worker or all).
#   docker build -t watchpost .        (or: docker compose up --build)
# Node >= 20.19 is needed: the compiled CommonJS code require()s NestJS 12's ES modules.

# Build stage: every dependency, the TypeScript build, then only production dependencies kept.
FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY migrations ./migrations
COPY scripts ./scripts
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# Runtime stage: same Debian release as the build stage, so native modules (bcrypt) load.
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000
# Pending migrations are applied at start (MIGRATE_ON_START=true); `node dist/scripts/migrate.js`
# applies them as a separate step instead. The worker runs `node dist/src/worker.js` (or ROLE=worker).
CMD ["node", "dist/src/main.js"]
