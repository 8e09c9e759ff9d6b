import { createRequire } from 'node:module';

/** The package version, read once from package.json (two folders up from both src/ and dist/). */
export const version = (createRequire(import.meta.url)('../package.json') as { version: string }).version;
