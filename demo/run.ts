// `npm run demo`: the real thing on one machine. A relay, an agent and a sample Bun app in a
// git repo, all in a temp dir; a GitHub-signed push goes through the relay and deploys, then a
// second commit does. Ctrl-C stops everything (`--exit` stops after the second deploy).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { createHmac, randomBytes } from 'node:crypto'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import { styleText } from 'node:util'
import { readSse } from '../agent/cli/sse.ts'
import { agentHome } from '../agent/core/home.ts'

const ROOT = new URL('..', import.meta.url).pathname
const BIN = join(ROOT, 'bin/toehold.ts')
const exitWhenDone = process.argv.includes('--exit')
const dir = mkdtempSync(join(tmpdir(), 'toehold-demo-'))
const children: ChildProcess[] = []

const say = (text: string) => process.stdout.write(`${text}\n`)
const step = (text: string) =>
  say(`\n${styleText('bold', `▸ ${text}`, { stream: process.stdout })}`)
const dim = (text: string) => styleText('dim', text, { stream: process.stdout })

function cleanup() {
  for (const child of children) child.kill('SIGTERM')
  return Promise.all(
    children.map((child) =>
      child.exitCode === null ? new Promise((r) => child.once('exit', r)) : null,
    ),
  ).then(() => rmSync(dir, { recursive: true, force: true }))
}

/** Starts `toehold …` and resolves with the first JSON log line that has `msg`. */
function start(
  args: string[],
  env: NodeJS.ProcessEnv,
  msg: string,
): Promise<Record<string, unknown>> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, ...env, TOEHOLD_LOG_JSON: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  children.push(child)
  return new Promise((resolve, reject) => {
    child.once('exit', (code) =>
      reject(new Error(`toehold ${args[0]} exited (${code}) before "${msg}"`)),
    )
    createInterface({ input: child.stdout as Readable }).on('line', (text) => {
      try {
        const line = JSON.parse(text)
        if (line.msg === msg) resolve(line)
      } catch {}
    })
  })
}

function cli(args: string[]): string {
  say(dim(`$ toehold ${args.join(' ')}`))
  return execFileSync(process.execPath, [BIN, ...args, '--home', home], { encoding: 'utf8' })
}

const git = (...args: string[]) =>
  execFileSync('git', args, {
    cwd: work,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim()

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

const home = join(dir, 'agent-home')
const work = join(dir, 'sample-app')
const remote = join(dir, 'sample-app.git')

async function main() {
  step('Starting a relay (the public part; here on 127.0.0.1)')
  const token = randomBytes(24).toString('base64url')
  const relay = await start(
    ['relay', '--host', '127.0.0.1', '--port', '0', '--data', join(dir, 'relay-data')],
    { RELAY_REGISTRATION_TOKEN: token },
    'relay listening',
  )
  say(`relay at ${relay.url}`)

  step('Starting an agent (the home part; it dials the relay from inside)')
  const wsUrl = String(relay.url).replace(/^http/, 'ws')
  const agentStarted = start(
    ['agent', '--relay', wsUrl, '--home', home, '--api-port', '0'],
    { TOEHOLD_REGISTRATION_TOKEN: token },
    'connected to relay',
  )
  const connected = await agentStarted
  say(`agent connected as instance ${connected.instance}`)
  const agentInfo = JSON.parse(readFileSync(agentHome(home).agentInfo, 'utf8')) as {
    api: string
    apiKey: string
  }

  step('Creating the sample Bun app in a git repository')
  execFileSync('git', ['init', '--quiet', '--bare', '--initial-branch=main', remote])
  cpSync(new URL('sample-app', import.meta.url), work, { recursive: true })
  writeFileSync(join(work, '.gitignore'), 'node_modules\nbuild.txt\n')
  git('init', '--quiet', '--initial-branch=main')
  git('remote', 'add', 'origin', remote)
  const port = await freePort()
  cli(['app', 'add', 'hello', '--repo', remote, '--port', String(port)])
  const hook = JSON.parse(
    cli(['webhook', 'enable', 'hello', '--provider', 'github', '--json']),
  ) as { url: string; secret: string }
  say(`webhook URL: ${hook.url}`)

  await pushAndDeploy('First commit', hook, agentInfo, port)
  writeFileSync(join(work, 'message.txt'), 'Hello from the second commit\n')
  await pushAndDeploy('Second commit', hook, agentInfo, port)

  step('Done')
  say(`dashboard: ${agentInfo.api}/   (sign in with the API key below)`)
  say(`API key:   ${agentInfo.apiKey}`)
  say(`the app:   http://127.0.0.1:${port}/`)
  say(dim(`CLI:       node bin/toehold.ts status --home ${home}`))
  if (exitWhenDone) return cleanup()
  say('\nPress Ctrl-C to stop the relay, the agent and the app.')
}

/** Commits, pushes, sends the push webhook exactly as GitHub would, and follows the deploy. */
async function pushAndDeploy(
  label: string,
  hook: { url: string; secret: string },
  agent: { api: string; apiKey: string },
  port: number,
) {
  step(`${label}: commit, push, and GitHub's webhook through the relay`)
  git('add', '--all')
  git('-c', 'user.name=Demo', '-c', 'user.email=demo@example.com', 'commit', '--quiet', '-m', label)
  git('push', '--quiet', 'origin', 'HEAD:main')
  const sha = git('rev-parse', 'HEAD')
  const body = JSON.stringify({
    ref: 'refs/heads/main',
    before: '0'.repeat(40),
    after: sha,
    deleted: false,
    head_commit: { id: sha, message: label },
  })

  // Open the live stream first so no stage is missed.
  const events = await fetch(`${agent.api}/events?app=hello`, {
    headers: { authorization: `Bearer ${agent.apiKey}` },
  })
  const stream = readSse(events.body as ReadableStream<Uint8Array>)
  await stream.next()

  const answer = await fetch(hook.url, {
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-github-delivery': crypto.randomUUID(),
      'x-hub-signature-256': `sha256=${createHmac('sha256', hook.secret).update(body).digest('hex')}`,
    },
  })
  const reply = (await answer.json()) as { deployment: number }
  say(`relay answered the "git host": ${answer.status} ${JSON.stringify(reply)}`)

  const started = Date.now()
  for await (const { event, data } of stream) {
    if (event !== 'deployment') continue
    const change = JSON.parse(data) as {
      deployment: number
      status: string
      stage: string | null
      reason: string | null
    }
    if (change.deployment !== reply.deployment) continue
    say(
      `  ${`${((Date.now() - started) / 1000).toFixed(1)}s`.padStart(6)}  ${change.status === 'running' ? change.stage : change.status}`,
    )
    if (change.status === 'failed') throw new Error(`deploy failed: ${change.reason}`)
    if (change.status === 'live') break
  }
  await events.body?.cancel()
  say(
    `GET http://127.0.0.1:${port}/ → ${(await (await fetch(`http://127.0.0.1:${port}/`)).text()).trim()}`,
  )
}

process.on('SIGINT', () => {
  say('\nstopping…')
  void cleanup().then(() => process.exit(0))
})
main().catch(async (error: Error) => {
  process.stderr.write(`demo failed: ${error.message}\n`)
  await cleanup()
  process.exit(1)
})
