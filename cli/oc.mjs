#!/usr/bin/env node
// The `oc` executable (package.json "bin"): loads the TypeScript sources through tsx, from any folder.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
