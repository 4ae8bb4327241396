// Running the real `toehold` CLI against an agent home, as a user would.
import { spawn } from 'node:child_process'
import { BIN, ROOT } from './procs.ts'

// biome-ignore lint/suspicious/noExplicitAny: tests assert on the JSON field by field
export type CliResult = { code: number | null; stdout: string; stderr: string; json: any }

export function toehold(
  home: string,
  args: string[],
  options: { input?: string; cwd?: string; env?: NodeJS.ProcessEnv; command?: string[] } = {},
): Promise<CliResult> {
  const [program, ...prefix] = (options.command ?? [process.execPath, BIN]) as [string, ...string[]]
  return new Promise((resolve, reject) => {
    const child = spawn(program, [...prefix, ...args, '--home', home], {
      cwd: options.cwd ?? ROOT,
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
    })
    child.stdin.end(options.input ?? '')
    child.once('error', reject)
    child.once('close', (code) => {
      let json: unknown = null
      if (args.includes('--json')) {
        try {
          json = JSON.parse(stdout)
        } catch {}
      }
      resolve({ code, stdout, stderr, json })
    })
  })
}
