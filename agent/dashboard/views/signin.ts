// The sign-in form: the API key, pasted once; the agent answers with a session cookie.
import { html } from 'hono/html'
import { layout } from './layout.ts'

export const signInPage = (options: { next: string; error?: string }) =>
  layout({
    title: 'Sign in',
    body: html`<section class="card signin">
  <h1>Sign in</h1>
  <p>Paste this agent's API key. It is in <code>TOEHOLD_HOME/agent/agent.json</code> (<code>apiKey</code>) on the machine the agent runs on.</p>
  ${options.error ? html`<p class="error" role="alert" id="signin-error">${options.error}</p>` : ''}
  <form method="post" action="/login">
    <input type="hidden" name="next" value="${options.next}">
    <label for="key">API key</label>
    <input id="key" name="key" type="password" autocomplete="current-password" required
      spellcheck="false" autocapitalize="off"${options.error ? html` aria-describedby="signin-error" aria-invalid="true"` : ''} autofocus>
    <button type="submit" class="primary">Sign in</button>
  </form>
</section>`,
  })
