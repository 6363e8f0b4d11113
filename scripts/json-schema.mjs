// Writes schema/devloop.schema.json from the built validator schema (run by `npm run build`).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JSON_SCHEMA_FILE, renderJsonSchema } from '../dist/config/json-schema.js';

const file = join(dirname(fileURLToPath(import.meta.url)), '..', JSON_SCHEMA_FILE);
mkdirSync(dirname(file), { recursive: true });
writeFileSync(file, renderJsonSchema());
