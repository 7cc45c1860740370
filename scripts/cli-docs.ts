// `npm run cli:docs`: writes docs/cli.md from the command definitions.
import { writeFile } from 'node:fs/promises';
import { cliReference } from '../cli/reference.ts';

await writeFile(new URL('../docs/cli.md', import.meta.url), cliReference());
console.log('wrote docs/cli.md');
