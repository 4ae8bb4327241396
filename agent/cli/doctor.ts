// toehold doctor: what a deploy needs, one line per check with the fix for each failure. The
// running agent checks its own environment (GET /doctor); an agent that cannot be reached is
// itself the first failure. Exits 1 when a check a deploy needs fails.
import type { Command } from 'commander'
import type { DoctorCheck } from '../api/contract.ts'
import { CliError, connect } from './client.ts'
import { clientCommand, type Options } from './command.ts'
import { paint, printJson } from './output.ts'

type Report = { ok: boolean; checks: DoctorCheck[] }

function line(check: DoctorCheck): string {
  const mark = check.ok ? paint('green', '✔') : paint(check.required ? 'red' : 'yellow', '✘')
  const fix = check.fix ? `\n    ${paint('dim', '→')} ${check.fix}` : ''
  return `${mark} ${paint('bold', check.name.padEnd(8))} ${check.detail}${fix}`
}

/** The agent's own checks; an agent that cannot be found or reached is the first failure. */
async function checks(options: Options): Promise<DoctorCheck[]> {
  try {
    return (await connect(options).request<{ checks: DoctorCheck[] }>('GET', '/doctor')).checks
  } catch (error) {
    if (!(error instanceof CliError)) throw error
    return [
      {
        name: 'agent',
        ok: false,
        required: true,
        detail: error.message,
        fix: 'start it: `toehold service install agent` (or `toehold agent` in a terminal)',
      },
    ]
  }
}

export function registerDoctor(program: Command): void {
  clientCommand(
    program
      .command('doctor')
      .description('check what deploys need: tools, home, relay, clock, ports'),
    'toehold doctor',
  ).action(async (options: Options) => {
    const report: Report = { ok: true, checks: await checks(options) }
    report.ok = report.checks.every((check) => check.ok || !check.required)
    if (options.json) printJson(report)
    else process.stdout.write(`${report.checks.map(line).join('\n')}\n`)
    if (!report.ok) process.exitCode = 1
  })
}
