// The API client for a host target, with the token the app would fetch with.
import type { HostTarget } from './base.ts'
import { bitbucketApi } from './bitbucket.ts'
import { giteaApi } from './gitea.ts'
import { githubApi } from './github.ts'
import { gitlabApi } from './gitlab.ts'
import type { HostHttp } from './http.ts'
import type { HostApi } from './types.ts'

export type Credentials = { token: string; username?: string | undefined }

export function hostApi(
  target: HostTarget,
  credentials: Credentials,
  tuning: Partial<HostHttp> = {},
): HostApi {
  switch (target.kind) {
    case 'github':
      return githubApi(target, credentials.token, tuning)
    case 'gitlab':
      return gitlabApi(target, credentials.token, tuning)
    case 'gitea':
      return giteaApi(target, credentials.token, tuning)
    case 'bitbucket':
      return bitbucketApi(target, credentials.token, credentials.username, tuning)
  }
}
