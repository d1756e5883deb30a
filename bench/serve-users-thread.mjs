// The entry of bench-serve's load-client thread (serve-users-thread.ts): a
// worker thread does not inherit the main thread's tsx loader, so it
// registers its own before loading the TypeScript.
import { register } from 'tsx/esm/api';

register();
await import('./serve-users-thread.ts');
