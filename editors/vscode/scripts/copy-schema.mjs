// Copies the repository's JSON Schema into the extension (schemas/tracingpolicy.json) at build
// time, so the .vsix ships the schema of the same commit.
import { copyFileSync, mkdirSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(dirname(fileURLToPath(import.meta.url)));
const repo = join(here, '..', '..', 'schema');
mkdirSync(join(here, 'schemas'), { recursive: true });
for (const name of ['tracingpolicy.json', 'tracingpolicynamespaced.json']) {
  const from = join(repo, name);
  if (!existsSync(from)) {
    console.error(`copy-schema: ${from} is missing`);
    process.exit(1);
  }
  copyFileSync(from, join(here, 'schemas', name));
}
