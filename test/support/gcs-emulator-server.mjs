// Runs the Cloud Storage emulator that ships inside firebase-tools (lib/emulator/storage), from its
// library code, WITHOUT the Storage Rules runtime (that one needs Java 21 and a downloaded jar).
// The GCS JSON API routes (`/b/...`, `/upload/storage/v1/...`, `/download/storage/v1/...`,
// `/storage/v1/...`) use the admin storage layer and never consult rules, so nothing is lost for
// `@google-cloud/storage` clients. Started as a child process by test/support/gcs-emulator.ts so its
// globals (logger, registry, temp files) stay out of the test worker.
//
// Usage: node gcs-emulator-server.mjs --host 127.0.0.1 --port 9199 --project demo-project [--exit-with-stdin]
// Prints one JSON line `{"ready":true,"host":...,"port":...}` on stdout when listening.
// Blobs are kept under $TMPDIR/firebase/storage/blobs: the parent gives each child its own TMPDIR.
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '9199' },
    project: { type: 'string', default: 'demo-project' },
    'exit-with-stdin': { type: 'boolean', default: false },
  },
});
const host = values.host;
const port = Number(values.port);
const projectId = values.project;

const { StorageEmulator } = require('firebase-tools/lib/emulator/storage/index.js');
const { createApp } = require('firebase-tools/lib/emulator/storage/server.js');
const { EmulatorRegistry } = require('firebase-tools/lib/emulator/registry.js');

// The constructor only wires objects: the rules runtime (Java) is started by start(), which we do
// not call. A ruleset file name is still required by the rules manager's constructor.
const emulator = new StorageEmulator({
  projectId,
  host,
  port,
  rules: { name: 'storage.rules', content: '' },
  auto_download: false,
});
// Bucket and object metadata build self links from the registry: register without start().
EmulatorRegistry.set('storage', emulator);
const app = await createApp(projectId, emulator);
const server = app.listen(port, host);
server.on('listening', () => {
  process.stdout.write(`${JSON.stringify({ ready: true, host, port })}\n`);
});
server.on('error', (error) => {
  process.stderr.write(`gcs emulator: ${error.message}\n`);
  process.exit(1);
});

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  server.close();
  server.closeAllConnections?.();
  try {
    emulator.reset();
    // The harness gives each child its own TMPDIR (gcs-emulator-XXXXXX): remove it, even when the
    // parent died and cannot.
    if (values['exit-with-stdin'] && basename(tmpdir()).startsWith('gcs-emulator-')) {
      rmSync(tmpdir(), { recursive: true, force: true });
    }
  } catch {
    // best effort
  }
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// Started by a test harness: exit when the parent's end of stdin closes (the parent died).
if (values['exit-with-stdin']) {
  process.stdin.on('end', stop);
  process.stdin.resume();
}
