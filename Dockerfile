# The mastery service as a container: built in one stage, run from a slim one as a non-root user.
# The server is the container's main process, so it receives SIGTERM directly and drains before it exits.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY packages ./packages
COPY src ./src
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY supabase ./supabase
# Without DATABASE_URL the server keeps embedded PGlite in ./.bkt/data: a directory the node user can write.
RUN mkdir -p .bkt/data && chown -R node:node .bkt
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form, so that signals reach node itself; compose adds a tiny init (init: true) to reap children.
CMD ["node", "dist/cli/main.js", "serve"]
