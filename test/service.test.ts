// `toehold service install|uninstall|status`: the unit it writes (this Node, this toehold, the
// PATH and home it ran with) passes `systemd-analyze verify`, and the flow runs the systemctl and
// loginctl commands it prints, here against stand-ins that record them and a temp unit directory.
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, existsSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { it } from 'node:test'
import { NODE_FLAGS } from '../agent/cli/units.ts'
import { EXAMPLES } from '../scripts/units.ts'
import { BIN, ROOT, tempDir } from './helpers/procs.ts'

/** A bin directory whose systemctl and loginctl append their arguments to a log. */
function standIns() {
  const dir = tempDir('toehold-fake-systemd-')
  const log = join(dir, 'calls.log')
  for (const tool of ['systemctl', 'loginctl']) {
    writeFileSync(
      join(dir, tool),
      `#!/bin/sh
echo "${tool} $*" >> "${log}"
case "$*" in
  *is-enabled*) echo enabled ;;
  *is-active*) echo active ;;
  *enable\\ --now*) [ -n "$FAIL_ENABLE" ] && { echo "Failed to enable unit: access denied" >&2; exit 1; } ;;
esac
exit 0
`,
    )
    chmodSync(join(dir, tool), 0o755)
  }
  return { dir, calls: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []) }
}

function setup() {
  const fake = standIns()
  const root = tempDir('toehold-service-')
  const env = {
    ...process.env,
    PATH: `${fake.dir}:${process.env.PATH}`,
    XDG_CONFIG_HOME: join(root, 'config'),
    TOEHOLD_HOME: join(root, 'home'),
    TOEHOLD_RELAY: 'wss://relay.example.com',
  }
  const toehold = (...args: string[]) =>
    spawnSync(process.execPath, [BIN, 'service', ...args], { env, encoding: 'utf8' })
  return { fake, root, env, toehold, units: join(root, 'config/systemd/user') }
}

/** `systemd-analyze verify`: exit 0 and not one warning. */
function verify(unit: string) {
  const result = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' })
  assert.equal(result.error, undefined, 'systemd-analyze is missing (apt install systemd)')
  assert.equal(`${result.status} ${result.stderr.trim()}`, '0 ', `verify ${unit}`)
}

it('installs the agent as a user unit with linger, keeps its settings, and uninstalls', () => {
  const { fake, env, toehold, units } = setup()
  const installed = toehold('install', 'agent')
  assert.equal(installed.status, 0, installed.stderr)
  const unit = join(units, 'toehold-agent.service')
  const envFile = join(env.XDG_CONFIG_HOME, 'toehold/agent.env')
  assert.deepEqual(installed.stdout.trim().split('\n'), [
    `wrote ${unit}`,
    `wrote ${envFile} (0600): fill in its settings`,
    'ran systemctl --user daemon-reload',
    'ran systemctl --user enable --now toehold-agent.service',
    `ran loginctl enable-linger ${execFileSync('id', ['-un'], { encoding: 'utf8' }).trim()} (the agent keeps running while you are logged out)`,
  ])
  const text = readFileSync(unit, 'utf8')
  assert.match(
    text,
    new RegExp(
      `^ExecStart=${process.execPath} ${NODE_FLAGS.join(' ')} ${realpathSync(BIN)} agent$`,
      'm',
    ),
  )
  assert.ok(text.includes(`\nEnvironment=PATH=${env.PATH}\n`))
  assert.ok(text.includes(`\nEnvironment=TOEHOLD_HOME=${env.TOEHOLD_HOME}\n`))
  assert.ok(text.includes(`\nEnvironmentFile=-${envFile}\n`))
  verify(unit)
  assert.equal(statSync(envFile).mode & 0o777, 0o600)
  assert.match(readFileSync(envFile, 'utf8'), /^TOEHOLD_RELAY=wss:\/\/relay\.example\.com$/m)

  writeFileSync(envFile, 'TOEHOLD_RELAY=wss://mine.example.com\n')
  const again = toehold('install', 'agent', '--json')
  assert.equal(again.status, 0, again.stderr)
  assert.ok(JSON.parse(again.stdout).done.includes(`kept ${envFile}`))
  assert.equal(readFileSync(envFile, 'utf8'), 'TOEHOLD_RELAY=wss://mine.example.com\n')

  const status = toehold('status', 'agent', '--json')
  assert.deepEqual(JSON.parse(status.stdout), {
    service: 'agent',
    unit,
    installed: true,
    enabled: 'enabled',
    active: 'active',
  })

  const removed = toehold('uninstall', 'agent')
  assert.equal(removed.status, 0, removed.stderr)
  assert.equal(existsSync(unit), false)
  assert.ok(existsSync(envFile))
  assert.deepEqual(fake.calls().slice(-2), [
    'systemctl --user disable --now toehold-agent.service',
    'systemctl --user daemon-reload',
  ])
  const gone = toehold('status', 'agent')
  assert.equal(gone.stdout.trim(), `${unit}: not installed`)
  const twice = toehold('uninstall', 'agent')
  assert.equal(twice.status, 1)
  assert.equal(twice.stderr, `toehold: ${unit} is not installed\n`)
})

it('installs the relay as a system unit into the unit directory given', () => {
  const { fake, root, toehold } = setup()
  const units = join(root, 'system')
  const envFile = join(root, 'etc/relay.env')
  const installed = toehold('install', 'relay', '--unit-dir', units, '--settings', envFile)
  assert.equal(installed.status, 0, installed.stderr)
  const unit = join(units, 'toehold-relay.service')
  assert.match(
    readFileSync(unit, 'utf8'),
    new RegExp(
      `^ExecStart=${process.execPath} ${NODE_FLAGS.join(' ')} ${realpathSync(BIN)} relay --host 127\\.0\\.0\\.1 --port 8080$`,
      'm',
    ),
  )
  verify(unit)
  assert.match(readFileSync(envFile, 'utf8'), /^# RELAY_PUBLIC_URL=/m)
  assert.deepEqual(fake.calls(), [
    'systemctl daemon-reload',
    'systemctl enable --now toehold-relay.service',
  ])
})

it('a systemctl that refuses is one line and exit 1', () => {
  const { env, toehold } = setup()
  Object.assign(env, { FAIL_ENABLE: '1' })
  const failed = toehold('install', 'agent')
  assert.equal(failed.status, 1)
  assert.equal(
    failed.stderr,
    'toehold: systemctl --user enable --now toehold-agent.service failed: Failed to enable unit: access denied\n',
  )
  const wrong = toehold('install', 'everything')
  assert.equal(wrong.status, 1)
  assert.equal(wrong.stderr, 'toehold: say agent or relay, not everything\n')
})

it('ops/systemd holds the same units, for a system-wide install, and they verify', () => {
  for (const [name, text] of Object.entries(EXAMPLES)) {
    const path = join(ROOT, 'ops/systemd', name)
    assert.equal(readFileSync(path, 'utf8'), text, `${name}: run node scripts/units.ts`)
    verify(path)
  }
})
