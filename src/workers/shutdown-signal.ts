/**
 * Resolves on the first SIGTERM or SIGINT (the agent then drains). A second signal means "now": the process
 * exits at once with 130 and the in-flight jobs are recovered by other agents once their locks expire.
 */
export function waitForStopSignal(onForce: () => void = () => process.exit(130)): Promise<NodeJS.Signals> {
  return new Promise((done) => {
    let received = false;
    const handle = (signal: NodeJS.Signals): void => {
      if (received) {
        onForce();
        return;
      }
      received = true;
      done(signal);
    };
    process.on('SIGTERM', handle);
    process.on('SIGINT', handle);
  });
}
