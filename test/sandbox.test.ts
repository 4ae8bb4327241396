// What an app can reach of the agent: a probe app whose start command, predeploy and a
// dependency's postinstall script each try to read the agent's key, its API key file, its state
// (and the WAL, where another app's token sits), another app's release, the host's /tmp and the
// agent's process. Inside the sandbox all of it fails; with the sandbox off the same probe reads
// the key (so the probe is able to see what it reports).
import assert from 'node:assert/strict'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { agentHome } from '../agent/core/home.ts'
import { type Agent, freePort, startAgent } from './helpers/agent.ts'
import { addApp, appRepo, deploy, setEnv } from './helpers/deploy.ts'
import { createRepo } from './helpers/git-repo.ts'
import { tempDir } from './helpers/procs.ts'
import { until } from './helpers/wait.ts'

const T = { timeout: 90_000 }

// Tries every target and writes what it got into the release; the start stage then serves all
// three reports on PORT (which also makes it pass the health check).
const PROBE = `
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs'
import { resolve, join } from 'node:path'
const stage = process.argv[2]
const release = stage === 'postinstall' ? resolve('../..') : process.cwd()
const report = {}
for (const target of JSON.parse(process.env.PROBE_TARGETS)) {
  try {
    const bytes = readFileSync(target)
    report[target] = 'read ' + bytes.length
  } catch (error) {
    try {
      report[target] = 'listed ' + readdirSync(target).join(',')
    } catch {
      report[target] = error.code ?? String(error)
    }
  }
}
report.ownRelease = existsSync(join(release, 'package.json')) ? 'read' : 'missing'
writeFileSync('/tmp/probe-scratch', 'x')
report.tmpWritable = readFileSync('/tmp/probe-scratch', 'utf8') === 'x'
report.home = process.env.HOME
writeFileSync(join(release, 'probe-' + stage + '.json'), JSON.stringify(report))
if (stage === 'start') {
  const read = (s) => JSON.parse(readFileSync(join(release, 'probe-' + s + '.json'), 'utf8'))
  const all = { start: report, predeploy: read('predeploy'), postinstall: read('postinstall') }
  Bun.serve({ port: Number(process.env.PORT), fetch: () => Response.json(all) })
}
`

function probeRepo() {
  const repo = createRepo('main')
  repo.commit(
    {
      'package.json': JSON.stringify({
        name: 'probe',
        private: true,
        scripts: { start: 'bun dep/probe.js start', predeploy: 'bun dep/probe.js predeploy' },
        dependencies: { dep: 'file:./dep' },
        trustedDependencies: ['dep'],
      }),
      'dep/package.json': JSON.stringify({
        name: 'dep',
        version: '1.0.0',
        scripts: { postinstall: 'bun probe.js postinstall' },
      }),
      'dep/probe.js': PROBE,
    },
    'a probe',
  )
  return repo
}

type Report = Record<string, string | boolean>

/** Deploys a victim app (with a GIT_TOKEN in the state) and the probe; returns what each stage got. */
async function probe(agent: Agent) {
  const home = agentHome(agent.home)
  const victim = appRepo()
  await addApp(agent, 'victim', victim, { port: await freePort() })
  await setEnv(agent, 'victim', 'GIT_TOKEN', 'ghp_victimsecrettoken0123456789')
  const live = await deploy(agent, 'victim')
  assert.equal(live.status, 'live', live.reason ?? '')
  const marker = join(tempDir('toehold-host-tmp-'), 'marker')
  writeFileSync(marker, 'host tmp')
  const secrets = [home.key, home.agentInfo, home.state, `${home.state}-wal`]
  const others = [
    join(home.releases('victim'), live.release ?? '', 'package.json'),
    home.logs('victim'),
    home.secrets,
    marker,
    `/proc/${agent.child.pid}/environ`,
    `/proc/${agent.child.pid}/root${home.key}`,
  ]
  for (const path of [...secrets, ...others.slice(0, 4)])
    assert.ok(existsSync(path), `${path} is there on the host`)

  const port = await freePort()
  await addApp(agent, 'probe', probeRepo(), { port })
  await setEnv(agent, 'probe', 'PROBE_TARGETS', JSON.stringify([...secrets, ...others, home.root]))
  const probed = await deploy(agent, 'probe')
  assert.equal(probed.status, 'live', probed.reason ?? '')
  const reports = await until(async () => {
    try {
      return (await (await fetch(`http://127.0.0.1:${port}/`)).json()) as Record<string, Report>
    } catch {
      return null
    }
  }, 'the probe reports')
  return { reports, targets: [...secrets, ...others], home }
}

test(
  'inside the sandbox, no stage of an app can read the agent, other apps or the host /tmp',
  T,
  async (t) => {
    const agent = await startAgent()
    t.after(() => agent.kill())
    const { reports, targets, home } = await probe(agent)
    for (const stage of ['start', 'predeploy', 'postinstall']) {
      const report = reports[stage] as Report
      assert.ok(report, `${stage} ran`)
      for (const target of targets)
        assert.match(String(report[target]), /^E[A-Z]+$/, `${stage}: ${target} → ${report[target]}`)
      // Of TOEHOLD_HOME only the app's own directories are there.
      assert.equal(report[home.root], 'listed apps', stage)
      assert.equal(report.ownRelease, 'read', stage)
      assert.equal(report.tmpWritable, true, stage)
      assert.equal(report.home, home.appHome('probe'), stage)
    }
    assert.ok(!agent.lines.some((line) => /unsandboxed/.test(String(line.msg))))
  },
)

test(
  'with the sandbox off the same probe reads the key, and the agent says so at start',
  T,
  async (t) => {
    const agent = await startAgent({ env: { TOEHOLD_SANDBOX: 'off' } })
    t.after(() => agent.kill())
    await agent.waitFor((line) =>
      /TOEHOLD_SANDBOX=off: apps run unsandboxed/.test(String(line.msg)),
    )
    const { reports, home } = await probe(agent)
    for (const stage of ['start', 'predeploy', 'postinstall'])
      assert.match(String(reports[stage]?.[home.key]), /^read \d+$/, stage)
  },
)
