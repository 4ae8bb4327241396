// Every client command of the `toehold` CLI.
import type { Command } from 'commander'
import { registerApply } from './apply.ts'
import { registerApps } from './apps.ts'
import { registerDeploys } from './deploys.ts'
import { registerDoctor } from './doctor.ts'
import { registerEnv } from './env.ts'
import { registerNotify } from './notify.ts'
import { registerService } from './service.ts'
import { registerWebhooks } from './webhooks.ts'

export function registerClientCommands(program: Command): void {
  registerApps(program)
  registerWebhooks(program)
  registerDeploys(program)
  registerEnv(program)
  registerNotify(program)
  registerApply(program)
  registerDoctor(program)
  registerService(program)
}
