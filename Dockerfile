# syntax=docker/dockerfile:1
# Build: compile TypeScript with the dev dependencies (npm run build = scripts/build.mjs).
# npm's download cache lives in a BuildKit cache mount: rebuilds reuse it, and no layer keeps it.
FROM node:26-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
COPY commands ./commands
RUN npm run build

# Runtime: production dependencies and compiled code only, as the unprivileged node user.
# --omit=optional as well: TypeScript is an optional peer dependency of valibot, which npm
# would otherwise keep (23 MB) although nothing here compiles.
FROM node:26-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --omit=optional --no-audit --no-fund
COPY --from=build /app/dist ./dist
# scripts/: what npm start checks first and what npm run doctor, ask, ingest and report go
# through (they run dist/ where no dev dependency is installed), for docker exec.
COPY scripts ./scripts
COPY knowledge ./knowledge
RUN mkdir -p /app/.rag-data && chown node:node /app/.rag-data
USER node
ENV PORT=3000
EXPOSE 3000
# The slim image has no curl; Node itself checks the liveness endpoint.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node"]
CMD ["--max-semi-space-size=1", "--liftoff-only", "--enable-source-maps", "dist/src/main.js"]
