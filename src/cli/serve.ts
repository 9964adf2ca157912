import { LoomError } from '../engine/errors.js';
import { startServe } from '../serve/server.js';
import { intOption, parseCommandArgs } from './args.js';
import type { Command } from './shared.js';

const help = `usage: loom serve --model FILE [--port 8080] [--host 127.0.0.1] [--token T] [--id MODEL_ID]

Serves one model over HTTP, its preprocessing applied to every request:

  POST /predict   {"rows": [[raw values…], …]} → {"modelId", "predictions": [{"label", "index", "probabilities"}]}
  GET  /model     inputs (count, feature names, layout), classes, parameter count, blueprint
  GET  /demo      a page that runs the model in the browser on typed values (or a drawn digit for image models)

  --model FILE   a Loom model file or a LOOM bundle
  --port N       port (default 8080; 0 picks a free one)
  --host ADDR    address to listen on (default 127.0.0.1, this machine only)
  --token T      required from every request (Authorization: Bearer T, x-loom-token: T, or ?token=T);
                 mandatory when --host is not loopback
  --id MODEL_ID  which model of a bundle holding several

Bad requests get a 400 whose message names the problem (a missing field, a row of the wrong length, a value that
is not a number).`;

export const command: Command = {
  name: 'serve',
  help,
  async run(argv) {
    const { values } = parseCommandArgs(
      'serve',
      argv,
      { model: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, token: { type: 'string' }, id: { type: 'string' } },
      false,
    );
    if (!values.model) throw new LoomError('LOOM_ERR_USAGE', 'loom serve needs --model FILE (see loom serve --help)');
    const port = intOption('port', values.port, 0, 65535) ?? 8080;
    if (port > 65535) throw new LoomError('LOOM_ERR_USAGE', `--port must be ≤ 65535, got ${port}`);
    const { url } = await startServe({
      modelPath: values.model,
      port,
      host: values.host ?? '127.0.0.1',
      ...(values.token ? { token: values.token } : {}),
      ...(values.id ? { modelId: values.id } : {}),
    });
    const query = values.token ? `?token=${encodeURIComponent(values.token)}` : '';
    console.log(`loom serve: ${url}  (POST /predict, GET /model, demo ${url}/demo${query}; Ctrl-C to stop)`);
    await new Promise<never>(() => {});
    return 0;
  },
};
