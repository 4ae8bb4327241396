// What npm installs: `npm pack` (which builds dist/), `npm install -g` into a temp prefix from
// the local cache, then the installed `toehold` as a user runs it (and `npx <tarball>`): --version,
// an old Node, the relay (and the container's start command), an agent through it, the CLI, a
// deploy on push.

import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { existsSync, readFileSync, realpathSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { after, before, it } from 'node:test'
import { promisify } from 'node:util'
import { NODE_FLAGS } from '../agent/cli/units.ts'
import { agentHome } from '../agent/core/home.ts'
import { connected, freePort, startAgent } from './helpers/agent.ts'
import { toehold } from './helpers/cli.ts'
import { answers, appRepo } from './helpers/deploy.ts'
import { REGISTRATION_TOKEN, ROOT, startRelay, stopAll, tempDir } from './helpers/procs.ts'
import { push } from './helpers/webhooks.ts'

const run = promisify(execFile)
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
/** Node 24 first on the PATH, as on a machine where it is the `node` the shebang finds. */
const PATH = `${dirname(process.execPath)}:${process.env.PATH}`
const prefix = tempDir('toehold-prefix-')
const bin = join(prefix, 'bin', 'toehold')
const installed = join(prefix, 'lib', 'node_modules', 'toehold')
let tarball = ''

before(async () => {
  const out = tempDir('toehold-pack-')
  const packed = await run('npm', ['pack', '--json', '--pack-destination', out], {
    cwd: ROOT,
    env: { ...process.env, PATH },
  })
  tarball = join(out, JSON.parse(packed.stdout)[0].filename)
  await run(
    'npm',
    ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball],
    { env: { ...process.env, PATH } },
  )
})
after(stopAll)

it('the tarball carries only what runs: the shim, dist/, README, LICENSE', async () => {
  const listed = await run('tar', ['-tzf', tarball])
  const files = listed.stdout.trim().split('\n').sort()
  for (const file of files) {
    assert.match(file, /^package\/(bin\/toehold\.js|dist\/.+|README\.md|LICENSE|package\.json)$/)
  }
  assert.ok(files.includes('package/dist/checkpoint-worker.js'))
  assert.ok(!files.some((file) => file.endsWith('.ts')))
})

it('the installed `toehold --version` prints the package version', async () => {
  assert.equal(realpathSync(bin), join(realpathSync(installed), 'bin', 'toehold.js'))
  const { stdout } = await run(bin, ['--version'], { env: { ...process.env, PATH } })
  assert.equal(stdout.trim(), pkg.version)
})

it('`npx <tarball>` runs it too', async () => {
  const { stdout } = await run(
    'npm',
    ['exec', '--yes', '--prefer-offline', `--package=${tarball}`, '--', 'toehold', '--version'],
    { env: { ...process.env, PATH }, cwd: tempDir('toehold-npx-') },
  )
  assert.equal(stdout.trim(), pkg.version)
})

it('on an older Node it says which Node it needs in one line and exits 1', async () => {
  // Debian's Node (20 on this machine; .ci/run installs it) stands for any older one.
  const old = '/usr/bin/node'
  assert.ok(existsSync(old), `${old} is missing: .ci/run installs Debian's nodejs`)
  const version = (await run(old, ['--version'])).stdout.trim()
  assert.ok(Number(version.slice(1).split('.')[0]) < 24, `${old} is ${version}`)
  const failed = await run(old, [bin, '--version']).then(
    () => assert.fail('an old Node ran toehold'),
    (error: { code: number; stdout: string; stderr: string }) => error,
  )
  assert.equal(failed.code, 1)
  assert.equal(failed.stdout, '')
  assert.equal(failed.stderr.trim().split('\n').length, 1)
  assert.match(failed.stderr, new RegExp(`needs Node\\.js 24 or newer; this is ${version}`))
})

it('the installed relay and agent work together: the CLI talks to the agent, a push deploys', async () => {
  const command = [bin]
  const env = { PATH }
  const relay = await startRelay({ command, env })
  assert.deepEqual(await (await fetch(`${relay.url}/health`)).json(), { ok: true })
  const agent = await startAgent({ relay, command, env })
  await connected(agent)

  const status = await toehold(agent.home, ['status', '--json'], { command, env })
  assert.equal(status.code, 0, status.stderr)
  assert.equal(status.json.instance, agent.instance)
  assert.equal(status.json.relay.connected, true)
  const apps = await toehold(agent.home, ['app', 'list', '--json'], { command, env })
  assert.deepEqual(apps.json, [])

  // A push deploys: app add, webhook enable, a signed GitHub push through the relay. The parts
  // the agent loads only when used (git, the build pipeline) come from the installed package.
  const repo = appRepo()
  const port = await freePort()
  const cli = async (...args: string[]) => {
    const result = await toehold(agent.home, [...args, '--json'], { command, env })
    assert.equal(result.code, 0, result.stderr)
    return result.json
  }
  await cli('app', 'add', 'web', '--repo', repo.remote, '--port', String(port))
  const hook = await cli('webhook', 'enable', 'web', '--provider', 'github')
  const pushed = await push(hook, repo.first)
  assert.equal(pushed.status, 202, JSON.stringify(pushed.body))
  await answers(port, 'v1')

  // The dashboard's assets and the checkpoint worker are files the bundle finds by URL.
  const info = JSON.parse(readFileSync(agentHome(agent.home).agentInfo, 'utf8'))
  const css = await fetch(`${info.api}/assets/dashboard.css`)
  assert.equal(css.status, 200)
  assert.match(await css.text(), /\{/)
  assert.deepEqual(await agent.kill('SIGTERM'), { code: 0, signal: null })
  assert.equal(
    agent.lines.find((line) => line.msg === 'WAL checkpoint failed'),
    undefined,
    'the checkpoint worker did not start',
  )
  assert.deepEqual(await relay.kill('SIGTERM'), { code: 0, signal: null })
})

/** Instruction → JSON-array arguments, for the Dockerfile's final stage. */
function dockerfile() {
  const lines = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').split('\n')
  const final = lines.slice(lines.findLastIndex((line) => line.startsWith('FROM ')))
  const instruction = (name: string) =>
    final.find((line) => line.startsWith(`${name} `))?.slice(name.length + 1)
  return {
    from: final[0]?.slice(5) ?? '',
    run: final.filter((line) => line.startsWith('RUN ')).join('\n'),
    nodeOptions: /NODE_OPTIONS=(\S+)/.exec(final.join('\n'))?.[1],
    entrypoint: JSON.parse(instruction('ENTRYPOINT') ?? '[]') as string[],
    cmd: JSON.parse(instruction('CMD') ?? '[]') as string[],
    healthcheck: JSON.parse(
      instruction('HEALTHCHECK')?.replace(/^.*?CMD /, '') ?? '[]',
    ) as string[],
  }
}

it('the container installs the package and its start command runs the relay, healthy, stopping on SIGTERM', async () => {
  // No Docker engine runs here: the final stage's ENTRYPOINT + CMD run as they are, on this
  // machine, with the package installed the way the image installs it.
  const image = dockerfile()
  assert.match(image.from, /^node:24[\w.-]*-slim$/)
  assert.match(image.run, /npm install -g --omit=dev .*toehold\.tgz/)
  assert.equal(image.nodeOptions, NODE_FLAGS.join(' '), 'the services run with the same flags')
  const [entrypoint, ...command] = [...image.entrypoint, ...image.cmd].map((arg) =>
    arg.replace(/^\/app\//, `${ROOT}/`),
  )
  assert.deepEqual(command, ['toehold', 'relay'])
  const env = {
    ...process.env,
    PATH: `${join(prefix, 'bin')}:${PATH}`,
    PORT: '0',
    RELAY_HOST: '127.0.0.1',
    RELAY_DATA_DIR: join(tempDir(), 'data'),
    RELAY_REGISTRATION_TOKEN: REGISTRATION_TOKEN,
    TOEHOLD_LOG_JSON: '1',
    NODE_OPTIONS: image.nodeOptions,
  }
  const relay = spawn(entrypoint as string, command, { env, stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = new Promise((resolve) => relay.once('exit', (code) => resolve(code)))
  try {
    const url = await new Promise<string>((resolve, reject) => {
      relay.once('exit', () => reject(new Error('relay exited')))
      createInterface({ input: relay.stdout }).on('line', (text) => {
        const line = JSON.parse(text)
        if (line.msg === 'relay listening') resolve(line.url)
      })
    })
    assert.deepEqual(await (await fetch(`${url}/health`)).json(), { ok: true })
    const [node, ...check] = image.healthcheck
    const health = spawn(node as string, check, { env: { ...env, PORT: new URL(url).port } })
    assert.equal(await new Promise((resolve) => health.once('exit', resolve)), 0)
  } finally {
    relay.kill('SIGTERM')
  }
  assert.equal(await exited, 0)
})
