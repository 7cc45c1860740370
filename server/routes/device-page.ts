// Where a person approves `oc login`: the verification page (RFC 8628 §3.3) shows the user code for
// them to compare with their terminal, and its Approve / Deny buttons post the decision with the
// session's CSRF token. Only a browser session may decide: a CLI access token approving another
// device would let a stolen short-lived token mint a long-lived refresh family.
import { Type } from 'typebox';
import type { FastifyInstance } from 'fastify';
import { AppError, repositories, type Store } from '../../core/index.ts';
import { EVERYONE } from '../auth/auth-plugin.ts';
import { decideDeviceAuthorization, formatUserCode, normalizeUserCode } from '../identity/device-flow.ts';
import { csrfTokenFor, findSession, type SessionPolicy } from '../identity/sessions.ts';
import { html, sendPage } from '../pages/layout.ts';
import { StrictObject } from '../schemas/common.ts';

export interface DevicePageDependencies {
  store: Pick<Store, 'db' | 'transaction' | 'audit'>;
  cookieName: string;
  sessionPolicy: SessionPolicy;
  developmentIdentityProvider: boolean;
}

const DEVICE_PAGE_PATH = '/auth/device';

const PAGE_SCRIPT = `
const form = document.getElementById('device-form');
const input = document.getElementById('user-code');
const result = document.getElementById('result');
const buttons = [...form.querySelectorAll('button')];
async function decide(approve) {
  buttons.forEach((b) => { b.disabled = true; });
  result.className = '';
  result.textContent = approve ? 'Approving…' : 'Denying…';
  try {
    const response = await fetch('/auth/device/decision', {
      method: 'POST', credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-csrf-token': form.dataset.csrf },
      body: JSON.stringify({ userCode: input.value, approve }),
    });
    if (response.ok) {
      result.textContent = approve ? 'Approved. Return to your terminal: oc is now signed in.' : 'Denied. The command line was not signed in.';
      return;
    }
    const problem = await response.json().catch(() => ({}));
    result.className = 'error';
    result.textContent = problem.detail || 'That did not work; check the code and try again.';
  } catch {
    result.className = 'error';
    result.textContent = 'The control plane could not be reached; try again.';
  }
  buttons.forEach((b) => { b.disabled = false; });
}
form.addEventListener('submit', (event) => { event.preventDefault(); void decide(true); });
document.getElementById('deny').addEventListener('click', () => { void decide(false); });
`;

export function registerDevicePageRoutes(app: FastifyInstance, deps: DevicePageDependencies): void {
  app.get(DEVICE_PAGE_PATH, {
    schema: { hide: true, querystring: StrictObject({ user_code: Type.Optional(Type.String({ maxLength: 32 })) }) },
  }, async (request, reply) => {
    const { user_code: typed } = request.query as { user_code?: string };
    const userCode = typed === undefined ? null : normalizeUserCode(typed);
    const secret = request.cookies[deps.cookieName];
    const found = secret ? await findSession(deps.store.db, secret, deps.sessionPolicy) : null;
    const person = found?.ok && found.session.kind === 'browser' ? await repositories.people.get(deps.store.db, found.session.personId) : undefined;
    if (!secret || !person) {
      const back = userCode ? `${DEVICE_PAGE_PATH}?user_code=${formatUserCode(userCode)}` : DEVICE_PAGE_PATH;
      return reply.redirect(`/auth/login?returnTo=${encodeURIComponent(back)}`);
    }
    return sendPage(reply, {
      title: 'Sign in to the OpenCrane CLI',
      developmentIdentityProvider: deps.developmentIdentityProvider,
      signedIn: { displayName: person.displayName },
      script: PAGE_SCRIPT,
      body: html`<div class="card">
  <h1>Sign in to the OpenCrane CLI</h1>
  <p class="muted">A command line (<code>oc login</code>) asks to act as you. Approve only if you started it yourself,
  just now, and the code below is the one your terminal shows.</p>
  <form id="device-form" data-csrf="${csrfTokenFor(secret)}">
    <p><label for="user-code">Code</label><br>
    <input id="user-code" name="userCode" value="${userCode ? formatUserCode(userCode) : ''}" placeholder="XXXX-XXXX"
      maxlength="32" autocomplete="off" autocapitalize="characters" spellcheck="false" required></p>
    <p><button class="button" type="submit" id="approve">Approve</button>
    <button class="button secondary" type="button" id="deny">Deny</button></p>
  </form>
  <p id="result" role="status" aria-live="polite"></p>
</div>`,
    });
  });

  app.post('/auth/device/decision', {
    onRequest: app.authorize(...EVERYONE),
    schema: {
      hide: true,
      body: StrictObject({ userCode: Type.String({ minLength: 1, maxLength: 32 }), approve: Type.Boolean() }),
    },
  }, async (request) => {
    const principal = request.principal!;
    if (principal.kind !== 'session' || principal.sessionKind !== 'browser') {
      throw new AppError('ERR_FORBIDDEN', 'approve a CLI sign-in in the browser, signed in as yourself');
    }
    const { userCode, approve } = request.body as { userCode: string; approve: boolean };
    const result = await decideDeviceAuthorization(deps.store, {
      userCode, approve, personId: principal.personId, role: principal.role, requestId: request.id,
    });
    if (!result.ok) {
      switch (result.reason) {
        case 'unknown':
          throw new AppError('ERR_NOT_FOUND', 'no sign-in request has this code; check the code oc login shows');
        case 'expired':
          throw new AppError('ERR_CONFLICT', 'this code has expired; run oc login again');
        case 'decided':
          throw new AppError('ERR_CONFLICT', 'this code was already approved or denied; run oc login again for a new one');
      }
    }
    return { status: approve ? 'approved' : 'denied' };
  });
}
