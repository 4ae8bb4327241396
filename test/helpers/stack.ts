// A relay and an agent as real processes, an app repo, and a way to post webhooks through
// the relay as a git host would.

import { type Agent, connected, startAgent } from './agent.ts'
import { toehold } from './cli.ts'
import { createRepo, type Repo } from './git-repo.ts'
import { send } from './http.ts'
import { type RelayProc, startRelay } from './procs.ts'

export type Posted = { status: number; text: string; json: unknown; headers: Headers }

export type Stack = {
  relay: RelayProc
  agent: Agent
  repo: Repo
  /** Adds an app tracking `branch` and enables its webhook; returns the URL and secret. */
  addApp(
    name: string,
    provider: string,
    options?: { branch?: string; secret?: string },
  ): Promise<{ url: string; secret: string }>
  post(url: string, body: string | Buffer, headers?: Record<string, string>): Promise<Posted>
  stop(): Promise<void>
}

export async function startStack(
  options: { branch?: string; agentEnv?: NodeJS.ProcessEnv } = {},
): Promise<Stack> {
  const branch = options.branch ?? 'master'
  const relay = await startRelay()
  const agent = await startAgent({ relay, ...(options.agentEnv ? { env: options.agentEnv } : {}) })
  await Promise.all([agent.waitFor((line) => line.msg === 'local API listening'), connected(agent)])
  const repo = createRepo(branch)
  repo.commit({ 'README.md': '# app\n' }, 'initial', branch)

  const stack: Stack = {
    relay,
    agent,
    repo,
    async addApp(name, provider, { branch: tracked = branch, secret } = {}) {
      const added = await toehold(agent.home, [
        'app',
        'add',
        name,
        '--repo',
        repo.remote,
        '--branch',
        tracked,
        '--json',
      ])
      if (added.code !== 0) throw new Error(`app add failed: ${added.stderr}`)
      const args = ['webhook', 'enable', name, '--provider', provider, '--json']
      const enabled = await toehold(
        agent.home,
        secret ? [...args, '--secret-stdin'] : args,
        secret ? { input: `${secret}\n` } : {},
      )
      if (enabled.code !== 0) throw new Error(`webhook enable failed: ${enabled.stderr}`)
      return { url: enabled.json.url, secret: enabled.json.secret }
    },
    async post(url, body, headers = {}) {
      const response = await send(url, {
        body: typeof body === 'string' ? Buffer.from(body) : body,
        headers,
      })
      const text = response.body.toString('utf8')
      let json: unknown = null
      try {
        json = JSON.parse(text)
      } catch {}
      const fields = Object.entries(response.headers).map(([k, v]): [string, string] => [
        k,
        String(v),
      ])
      return { status: response.status, text, json, headers: new Headers(fields) }
    },
    // Tests may replace the agent (restarts): stop whichever runs now.
    async stop() {
      await Promise.all([stack.agent.kill(), stack.relay.kill()])
    },
  }
  return stack
}
