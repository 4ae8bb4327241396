// Test deliveries: which provider's parser their headers are meant for.
import type { Provider } from '../../agent/api/contract.ts'

/** The provider a test delivery's headers belong to (the intake takes it from the app). */
export const providerOf = (headers: Record<string, string>): Provider =>
  headers['x-github-event'] || headers['x-gitea-event']
    ? 'github'
    : headers['x-gitlab-event']
      ? 'gitlab'
      : headers['x-event-key']
        ? 'bitbucket'
        : 'rev'
