// Prepares a checkout for tests and development: the pinned tools and the browser the tests drive.
import { ensureChromium, ensureOpa } from './tools.ts';

ensureOpa();
ensureChromium();
