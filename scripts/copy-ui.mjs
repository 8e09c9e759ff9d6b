// The web page's files are not TypeScript, so tsc leaves them out of dist/: copied here, next to
// dist/server/, where ui-routes.ts looks for them (new URL('../ui/', import.meta.url)).
import { cpSync, rmSync } from 'node:fs';

const from = new URL('../src/ui/', import.meta.url);
const to = new URL('../dist/ui/', import.meta.url);
// Removed first, so a file deleted from src/ui does not linger in the build.
rmSync(to, { recursive: true, force: true });
cpSync(from, to, { recursive: true });
