// BullMQ sandboxed-processor bootstrap (runs in a worker thread of `loom worker`): registers the TypeScript
// loader, then exposes the real processor. Kept trivial so it cannot fail to import (field notes §3.2.3).
import { register } from 'tsx/esm/api';

register();
const { default: processTrainingJob } = await import('./sandbox.ts');
export default processTrainingJob;
