/** Fixtures for the Determined-surface tests: a real server whose trials can call back, and a model dir. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, tempDir, type TestServer } from './server.js';

/**
 * Minimizes (x - 3)^2 over steps (importing a helper passed as an `include`); checkpoints every 2 steps with
 * known bytes; waits on the FIFO named by GATE when set; ends with 20 numbered lines.
 */
export const TRAIN_PY = `
import json, os, periscope
from helper import loss_at
ctx = periscope.init()
x = float(ctx.hparams["x"])
gate = os.environ.get("GATE")
if gate:
    print("waiting at the gate", flush=True)
    open(gate).read()
length = int(ctx.max_length)
for step in range(1, length + 1):
    loss = loss_at(x, step)
    ctx.report_training_metrics(step, {"loss": loss})
    if step % 2 == 0:
        ctx.report_validation_metrics(step, {"loss": loss})
        with ctx.checkpoint(step, {"step": step, "x": x}) as path:
            json.dump({"step": step, "x": x}, open(os.path.join(path, "state.json"), "w"))
            os.makedirs(os.path.join(path, "weights"))
            open(os.path.join(path, "weights", "w.bin"), "wb").write(bytes(range(256)) * step)
for i in range(20):
    print("end line", i, flush=True)
`;

export const HELPER_PY = 'def loss_at(x, step):\n    return (x - 3) ** 2 + 1.0 / step\n';

export function lossAt(x: number, step: number): number {
  return (x - 3) ** 2 + 1 / step;
}

/** A server on a random port whose executors report back to it. */
export async function trainingServer(): Promise<TestServer> {
  const server = await startServer({ capacity: { cpus: 64, memoryMb: 65536, gpus: [] } });
  server.app.execution.setApiUrl(server.master);
  return server;
}

/** A model dir holding train.py, and a helper module outside it (to pass as an include). */
export function modelDir(): { dir: string; helper: string } {
  const root = tempDir();
  const dir = join(root, 'model');
  mkdirSync(dir);
  writeFileSync(join(dir, 'train.py'), TRAIN_PY);
  const helper = join(root, 'helper.py');
  writeFileSync(helper, HELPER_PY);
  return { dir, helper };
}
