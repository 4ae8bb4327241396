// toehold doctor: what a deploy needs, one line per check with the fix for each failure. The
// running agent checks its own environment (GET /doctor); an agent that cannot be reached is
// itself the first failure. Exits 1 when a check a deploy needs fails.
import type { Command } from 'commander'
import type { DoctorCheck } from '../api/contract.ts'
import { CliError } from './client.ts'
import { clientCommand, type Options, run } from './command.ts'
import { paint } from './output.ts'

type Report = { ok: boolean; checks: DoctorCheck[] }

function line(check: DoctorCheck): string {
  const mark = check.ok ? paint('green', '✔') : paint(check.required ? 'red' : 'yellow', '✘')
  const fix = check.fix ? `\n    ${paint('dim', '→')} ${check.fix}` : ''
  return `${mark} ${paint('bold', check.name.padEnd(8))} ${check.detail}${fix}`
}

export function registerDoctor(program: Command): void {
  clientCommand(
    program
      .command('doctor')
      .description('check what deploys need: tools, home, relay, clock, ports'),
    'toehold doctor',
  ).action((options: Options) =>
    run(
      options,
      async (client): Promise<Report> => {
        let checks: DoctorCheck[]
        try {
          checks = (await client.request<{ checks: DoctorCheck[] }>('GET', '/doctor')).checks
        } catch (error) {
          if (!(error instanceof CliError)) throw error
          checks = [
            {
              name: 'agent',
              ok: false,
              required: true,
              detail: error.message,
              fix: 'start it: `toehold service install agent` (or `toehold agent` in a terminal)',
            },
          ]
        }
        const ok = checks.every((check) => check.ok || !check.required)
        if (!ok) process.exitCode = 1
        return { ok, checks }
      },
      (report) => report.checks.map(line).join('\n'),
    ),
  )
}
