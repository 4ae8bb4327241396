// The agent's local edges: a token set through stdin never shows in any process's argv; a web
// page rebinding its name to the agent's address is refused by Host; --repo with credentials is
// refused; an earlier home layout is moved and its permissions repaired at start.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { chmodSync, readdirSync, readFileSync, renameSync, statSync } from 'node:fs'
import { request } from 'node:http'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { agentHome } from '../agent/core/home.ts'
import { type Agent, startAgent } from './helpers/agent.ts'
import { addApp, appRepo } from './helpers/deploy.ts'
import { BIN, ROOT } from './helpers/procs.ts'

const T = { timeout: 60_000 }

/** Every process's argv that holds `secret`. */
function cmdlinesWith(secret: string): string[] {
  const found: string[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8')
      if (argv.includes(secret)) found.push(`${name}: ${argv.replaceAll('\0', ' ')}`)
    } catch {}
  }
  return found
}

/** GET with a Host header of our choosing (fetch may not send one). */
function getWithHost(url: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host } }, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (chunk: string) => {
        body += chunk
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.once('error', reject)
    req.end()
  })
}

describe('the local API', () => {
  let agent: Agent
  before(async () => {
    agent = await startAgent({ env: { TOEHOLD_API_NAMES: 'homebox.local, Box.Lan' } })
    await addApp(agent, 'blog', appRepo())
  })
  after(() => agent.kill())

  test(
    'env set --value-stdin: the token is in no process argv at any time of the call',
    T,
    async () => {
      const token = `ghp_${'s3cr3t'.repeat(6)}`
      const child = spawn(
        process.execPath,
        [BIN, 'env', 'set', 'blog', 'GIT_TOKEN', '--value-stdin', '--home', agent.home],
        { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] },
      )
      const exited = new Promise<number | null>((resolve) => child.once('close', resolve))
      let ended = false
      void exited.then(() => {
        ended = true
      })
      let scans = 0
      const seen: string[] = []
      const scan = () => {
        seen.push(...cmdlinesWith(token))
        scans++
      }
      await new Promise((resolve) => child.once('spawn', resolve))
      scan()
      child.stdin.end(`${token}\n`)
      while (!ended) {
        scan()
        await new Promise((resolve) => setImmediate(resolve))
      }
      assert.equal(await exited, 0)
      assert.ok(scans > 2, `scanned ${scans} times during the call`)
      assert.deepEqual(seen, [])
      const env = await agent.api('GET', '/env?app=blog')
      assert.equal(env.body.GIT_TOKEN, token, 'set, without its newline')
    },
  )

  test(
    'a foreign Host (DNS rebinding) is refused; loopback, IP literals and --api-name names answer',
    T,
    async () => {
      const url = `${agent.url}/health`
      const port = new URL(agent.url).port
      const refused = await getWithHost(url, `evil.example:${port}`)
      assert.equal(refused.status, 421)
      assert.match(JSON.parse(refused.body).error, /--api-name/)
      assert.equal((await getWithHost(`${agent.url}/apps`, 'rebound.example')).status, 421)
      for (const host of [
        `127.0.0.1:${port}`,
        `localhost:${port}`,
        `[::1]:${port}`,
        `192.168.1.20:${port}`,
        `homebox.local:${port}`,
        `box.lan:${port}`,
        'HOMEBOX.LOCAL',
      ])
        assert.equal((await getWithHost(url, host)).status, 200, host)
    },
  )

  test(
    '--repo with credentials in the URL is refused, saying where the token goes',
    T,
    async () => {
      for (const repo of [
        'https://me:ghp_x@github.com/me/site.git',
        'https://ghp_x@github.com/me/site.git',
      ]) {
        const added = await agent.api('POST', '/apps', { name: 'leaky', repo })
        assert.equal(added.status, 400, repo)
        assert.match(added.body.error, /GIT_TOKEN --value-stdin/)
        assert.ok(!added.body.error.includes('ghp_x'), 'the credential is not echoed')
      }
    },
  )
})

test(
  'an earlier home layout is moved into agent/ and its permissions repaired; same identity',
  T,
  async () => {
    let agent = await startAgent()
    const home = agentHome(agent.home)
    const info = JSON.parse(readFileSync(home.agentInfo, 'utf8'))
    await agent.kill()
    // What 0.1 left: the secrets at the top of the home, which someone made group/world readable.
    for (const name of readdirSync(home.secrets))
      renameSync(join(home.secrets, name), join(home.root, name))
    chmodSync(home.root, 0o755)
    chmodSync(join(home.root, 'key.json'), 0o644)
    chmodSync(home.apps, 0o755)

    agent = await startAgent({ home: home.root })
    try {
      const now = JSON.parse(readFileSync(home.agentInfo, 'utf8'))
      assert.equal(now.instance, info.instance, 'the same key')
      assert.equal(now.apiKey, info.apiKey, 'the same state')
      assert.deepEqual(readdirSync(home.root).sort(), ['agent', 'apps'])
      for (const dir of [home.root, home.secrets, home.apps])
        assert.equal(statSync(dir).mode & 0o777, 0o700, dir)
      for (const name of readdirSync(home.secrets))
        assert.equal(statSync(join(home.secrets, name)).mode & 0o777, 0o600, name)
      const warned = agent.lines.map((line) => String(line.msg))
      assert.ok(warned.some((msg) => msg.startsWith(`moved ${join(home.root, 'key.json')}`)))
      assert.ok(warned.includes(`${home.root} was mode 755: made it 700`))
      assert.ok(warned.includes(`${home.key} was mode 644: made it 600`))
    } finally {
      await agent.kill()
    }
  },
)
