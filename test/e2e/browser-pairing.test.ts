// End to end in a real browser: Debian's headless Chromium, driven by playwright-core, signs in at a
// real OpenID provider, lands on "your assistant", presses Open, and arrives at the assistant, which
// verifies the single-use pairing link with the verifier library and shows its owner.
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startListeningControlPlane, type ListeningControlPlane } from '../support/control-plane.ts';
import { testDatabases } from '../support/databases.ts';
import { freePort, startTestIdentityProvider, type TestIdentityProvider } from '../support/identity-provider.ts';
import { startStubAssistant, type StubAssistant } from '../support/stub-assistant.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

describe('sign in and pair, in a real browser', () => {
  let idp: TestIdentityProvider;
  let cp: ListeningControlPlane;
  let assistant: StubAssistant;
  let browser: Browser;
  let ada: { personId: string; assistantId: string };

  beforeAll(async () => {
    const port = await freePort();
    idp = await startTestIdentityProvider(`http://127.0.0.1:${port}`);
    cp = await startListeningControlPlane(testDatabases[0]!, port, {
      OIDC_ISSUER: idp.issuer, OIDC_CLIENT_ID: idp.clientId, OIDC_CLIENT_SECRET: idp.clientSecret,
    });
    assistant = await startStubAssistant();
    // Ada is onboarded before her first sign-in, and her assistant is up at the stub's address.
    const headers = { authorization: `Bearer ${cp.adminToken}`, 'content-type': 'application/json' };
    const person = await (await fetch(`${cp.url}/api/v1/people`, {
      method: 'POST', headers, body: JSON.stringify({ email: 'ada@example.com', displayName: 'Ada Lovelace' }),
    })).json() as { id: string };
    const assistants = await (await fetch(`${cp.url}/api/v1/assistants?personId=${person.id}`, { headers })).json() as { items: { id: string }[] };
    const assistantId = assistants.items[0]!.id;
    await fetch(`${cp.url}/api/v1/assistants/${assistantId}`, {
      method: 'PATCH', headers, body: JSON.stringify({ status: 'ready', endpoint: assistant.url }),
    });
    ada = { personId: person.id, assistantId };
    assistant.serve({ issuer: cp.url, assistantId, ownerId: person.id });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await assistant?.close();
    await cp?.close();
    await idp?.close();
  });

  it('signs in at the provider, opens the assistant with a pairing link, and the assistant sees its owner', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(cp.url);
    await page.click('#sign-in');
    await page.waitForSelector('input[name="login"]');
    expect(page.url().startsWith(idp.issuer)).toBe(true);
    await page.fill('input[name="login"]', 'ada@example.com');
    await page.fill('input[name="password"]', 'any');
    await page.click('button[type="submit"]');
    await page.waitForURL(`${cp.url}/`);
    expect(await page.textContent('h1')).toBe('Your assistant');
    expect(await page.textContent('#status')).toBe('ready');

    await page.click('#open');
    await page.waitForURL((url) => url.toString().startsWith(assistant.url));
    await expect.poll(() => page.textContent('#owner'), { timeout: 10_000 }).toBe(ada.personId);
    await context.close();
  });

  it('a pairing link works once: the same link is refused the second time', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${cp.url}/auth/login`);
    await page.fill('input[name="login"]', 'ada@example.com');
    await page.fill('input[name="password"]', 'any');
    await page.click('button[type="submit"]');
    await page.waitForURL(`${cp.url}/`);
    const csrf = await page.getAttribute('#open', 'data-csrf');
    const link = await page.evaluate(async (csrfToken) => {
      const response = await fetch('/api/v1/me/assistant/pairing', {
        method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': csrfToken ?? '' }, body: '{}',
      });
      return (await response.json() as { url: string }).url;
    }, csrf);
    const token = new URLSearchParams(new URL(link).hash.slice(1)).get('token')!;
    expect(await assistant.verify(token)).toMatchObject({ status: 200, body: { personId: ada.personId } });
    expect(await assistant.verify(token)).toMatchObject({ status: 401, body: { error: 'ERR_PAIRING_REPLAYED' } });
    await context.close();
  });
});
