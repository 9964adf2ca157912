// Worker-thread bootstrap: registers the TypeScript loader, then runs the real thread code.
import { register } from 'tsx/esm/api';

register();
await import('./thread.ts');
