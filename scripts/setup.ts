// Prepares a checkout for tests and development: the pinned tools must be present.
import { ensureOpa } from './tools.ts';

ensureOpa();
