# referrers-proxy image: compiled JavaScript and production dependencies only, run as the
# unprivileged "node" user of the official image. Configure it with the environment variables
# listed in the README (UPSTREAM_URL is required).

# --- build: compile TypeScript with the dev dependencies, then drop them ---
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

# --- runtime ---
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
# package.json is needed at run time: it marks dist/*.js as ES modules ("type": "module").
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
EXPOSE 5000
# main.ts handles SIGTERM (docker stop): it stops accepting, lets transfers finish for up to
# 10 s, then exits.
CMD ["node", "dist/main.js"]
