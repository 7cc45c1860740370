// Prepares a checkout for tests and development: the pinned tools, the browser the tests drive, tmux
// for the terminal test, and the test-only Kubernetes API server and etcd.
import { ensureChromium, ensureKubeTools, ensureOpa, ensureTmux } from './tools.ts';

ensureOpa();
ensureChromium();
ensureTmux();
ensureKubeTools();
