// `npm run bench` runs compiled JavaScript, as `npm start` does, not the sources through a TypeScript
// loader (which adds start-up memory and per-closure work the product never pays). tsc has already put
// src/ and bench/ under .bench-build/; this copies what tsc leaves out and the compiled code looks up
// relative to itself: package.json (the version) and the web page's files (src/ui).
import { cpSync, rmSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const build = new URL('.bench-build/', root);
cpSync(new URL('package.json', root), new URL('package.json', build));
rmSync(new URL('src/ui/', build), { recursive: true, force: true });
cpSync(new URL('src/ui/', root), new URL('src/ui/', build), { recursive: true });
