// Prepares a checkout for tests and development: the pinned tools, the browser the tests drive, and
// the test-only Kubernetes API server and etcd.
import { ensureChromium, ensureKubeTools, ensureOpa } from './tools.ts';

ensureOpa();
ensureChromium();
ensureKubeTools();
