// The pages a person sees: sign in, "your assistant" (status and an Open button that fetches a
// pairing link and goes there), and signed out. No chat ever passes through the control plane.
import type { FastifyInstance } from 'fastify';
import { repositories, type Config, type Store } from '../../core/index.ts';
import { sessionCookieName } from '../identity/cookies.ts';
import { csrfTokenFor, findSession } from '../identity/sessions.ts';
import { html, sendPage } from './layout.ts';

const STATUS_WORDS: Record<string, string> = {
  pending: 'being set up', provisioning: 'being set up', ready: 'ready', suspended: 'suspended', failed: 'failed', deleting: 'being removed',
};

// Fetches a single-use pairing link for the signed-in person's own assistant and goes straight there.
const OPEN_SCRIPT = `
const button = document.getElementById('open');
const message = document.getElementById('message');
button?.addEventListener('click', async () => {
  button.disabled = true;
  message.textContent = 'Opening your assistant…';
  try {
    const response = await fetch('/api/v1/me/assistant/pairing', {
      method: 'POST', credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-csrf-token': button.dataset.csrf },
      body: '{}',
    });
    const body = await response.json();
    if (!response.ok) throw new Error(body.detail || 'the assistant could not be opened');
    window.location.assign(body.url);
  } catch (error) {
    message.textContent = error.message;
    button.disabled = false;
  }
});`;

export function registerHomePages(app: FastifyInstance, deps: {
  config: Pick<Config, 'secureCookies' | 'session'>;
  store: Pick<Store, 'db'>;
  developmentIdentityProvider: boolean;
}): void {
  const cookieName = sessionCookieName(deps.config.secureCookies);
  const common = { developmentIdentityProvider: deps.developmentIdentityProvider };

  app.get('/', { schema: { hide: true } }, async (request, reply) => {
    const secret = request.cookies[cookieName];
    const found = secret ? await findSession(deps.store.db, secret, deps.config.session) : null;
    const person = found?.ok ? await repositories.people.get(deps.store.db, found.session.personId) : undefined;
    if (!secret || !found?.ok || !person) {
      return sendPage(reply, {
        ...common, title: 'Sign in',
        body: html`<div class="card"><h1>Your assistant at work</h1>
          <p class="muted">Sign in with your organisation's account to open your own assistant.</p>
          <p><a class="button" id="sign-in" href="/auth/login">Sign in</a></p>
          ${deps.developmentIdentityProvider ? html`<p class="muted" id="demo-people">Development provider: sign in as
            ada@example.com (admin), grace@example.com (security), linus@example.com or sam@example.com, with any password.</p>` : ''}</div>`,
      });
    }
    const assistant = await repositories.assistants.getByPerson(deps.store.db, person.id);
    const status = assistant ? (STATUS_WORDS[assistant.status] ?? assistant.status) : 'not created';
    return sendPage(reply, {
      ...common, title: 'Your assistant', signedIn: { displayName: person.displayName }, script: OPEN_SCRIPT,
      body: html`<div class="card"><h1>Your assistant</h1>
        <p>Status: <span class="status" id="status">${status}</span></p>
        <p class="muted">Opening hands your browser a one-time link to your own assistant; your conversations go straight there.</p>
        <p><button class="button" id="open" data-csrf="${csrfTokenFor(secret)}" ${assistant?.status === 'ready' ? '' : 'disabled'}>Open</button></p>
        <p id="message" class="muted" role="status">${assistant?.status === 'ready' ? '' : 'Open becomes available once your assistant is ready.'}</p></div>`,
    });
  });

  app.get('/auth/signed-out', { schema: { hide: true } }, (_request, reply) => sendPage(reply, {
    ...common, title: 'Signed out',
    body: html`<div class="card"><h1>You are signed out</h1><p><a class="button secondary" href="/auth/login">Sign in again</a></p></div>`,
  }));
}
