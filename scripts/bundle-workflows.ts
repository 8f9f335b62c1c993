/** Build step: bundles the workflow code once, so workers start without running webpack. */
import { PREBUILT_BUNDLE, writeWorkflowBundle } from '../src/worker';

writeWorkflowBundle(PREBUILT_BUNDLE).then(
  () => process.stdout.write(`workflow bundle written to ${PREBUILT_BUNDLE}\n`),
  (err) => { process.stderr.write(`bundling workflows failed: ${err.stack ?? err}\n`); process.exitCode = 1; },
);
