#!/usr/bin/env node
// Run by `npm test` before the tests. The integration tests start a real redis-server, a real
// CNCF distribution registry and skopeo; without them every test would fail with a spawn error
// far from the cause. This turns that into one line that says what to install.

import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const TOOLS = ['redis-server', 'docker-registry', 'skopeo'];
const INSTALL = 'apt-get install -y redis-server docker-registry skopeo';

/** True when an executable file of that name is in one of the PATH folders. */
function onPath(tool) {
  const folders = (process.env.PATH ?? '').split(delimiter).filter((folder) => folder !== '');
  return folders.some((folder) => {
    try {
      accessSync(join(folder, tool), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

const missing = TOOLS.filter((tool) => !onPath(tool));
if (missing.length > 0) {
  process.stderr.write(
    `tests need ${missing.join(', ')} on PATH (not found); install with: ${INSTALL}\n`,
  );
  process.exit(1);
}
