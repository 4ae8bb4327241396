// Real git repositories for tests: a bare "remote" and a work tree that commits and pushes to it.
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { tempDir } from './procs.ts'

const run = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'Test',
      GIT_AUTHOR_EMAIL: 't@example.com',
      GIT_COMMITTER_NAME: 'Test',
      GIT_COMMITTER_EMAIL: 't@example.com',
    },
  }).trim()

export type Repo = {
  /** Path of the bare repository: what `app add --repo` gets. */
  remote: string
  work: string
  /** Writes files, commits them and pushes to `branch`; returns the new commit sha. */
  commit(files: Record<string, string>, message?: string, branch?: string): string
  git(...args: string[]): string
}

export function createRepo(branch = 'main'): Repo {
  const root = tempDir('toehold-repo-')
  const remote = join(root, 'remote.git')
  const work = join(root, 'work')
  run(root, 'init', '--quiet', '--bare', `--initial-branch=${branch}`, remote)
  run(root, 'init', '--quiet', `--initial-branch=${branch}`, work)
  run(work, 'remote', 'add', 'origin', remote)
  return {
    remote,
    work,
    git: (...args) => run(work, ...args),
    commit(files, message = 'change', to = branch) {
      const current = run(work, 'symbolic-ref', '--short', 'HEAD')
      if (current !== to) run(work, 'checkout', '--quiet', '-B', to)
      for (const [path, text] of Object.entries(files)) {
        mkdirSync(dirname(join(work, path)), { recursive: true })
        writeFileSync(join(work, path), text)
      }
      run(work, 'add', '--all')
      run(work, 'commit', '--quiet', '--allow-empty', '-m', message)
      run(work, 'push', '--quiet', '--force', 'origin', `HEAD:refs/heads/${to}`)
      return run(work, 'rev-parse', 'HEAD')
    },
  }
}
