// What the sandbox costs a deployment: push-to-live of the same small app with the agent's
// sandbox off, then on (bubblewrap around bun install, predeploy and the app), in one run.
// Runnable alone: `node bench/sandbox.ts`.
import { benchDeploy, type DeployBench } from './deploy.ts'

export type SandboxBench = { off: DeployBench; on: DeployBench; addedMs: number }

export async function benchSandbox(runs = 7): Promise<SandboxBench> {
  const off = await benchDeploy(runs, 'off')
  const on = await benchDeploy(runs, 'auto')
  const addedMs = on.pushToLiveMs - off.pushToLiveMs
  process.stdout.write(
    `sandbox: push-to-live ${on.pushToLiveMs} ms with it, ${off.pushToLiveMs} ms without: ${addedMs >= 0 ? '+' : ''}${addedMs} ms (target ≤ +50 ms)\n`,
  )
  return { off, on, addedMs }
}

if (import.meta.main) await benchSandbox()
