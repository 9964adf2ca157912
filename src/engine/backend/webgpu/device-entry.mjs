// Device-thread bootstrap: registers the TypeScript loader, then runs the thread that owns the GPU device.
import { register } from 'tsx/esm/api';

register();
await import('./device-thread.ts');
