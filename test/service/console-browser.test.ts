/**
 * The console in a real headless Chromium (Debian's `chromium`, driven by playwright-core), against
 * the service and the sandbox: sign in; find a person in the log and open their steps; provision a
 * newcomer on demand and see the result; a viewer has no approve button and their POST is refused;
 * a POST without the CSRF token is refused; a value with <script> from the source is shown as text;
 * approve a staged change. Each page is saved as a screenshot in test-artifacts/console/ (emptied
 * first) for a reviewer to look at.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Harness, person, type Person } from '../support/harness.js';
import { startTestService, type RunningService } from '../support/service.js';
import { OPERATOR_TOKEN, VIEWER_TOKEN, consoleYaml } from '../support/console.js';

const CHROMIUM = '/usr/bin/chromium';
export const SHOTS = resolve(import.meta.dirname, '..', '..', 'test-artifacts', 'console');

const hostile = '<script>alert("owned")</script>';
const people: Person[] = [...Array.from({ length: 20 }, (_, i) => person(i + 1)), person(21, { first: hostile })];
/** Leavers enough to stop the start-up cycle (more than 10% of 21, and than the 3 always allowed): their deprovisions are staged. */
const leavers = ['E1001', 'E1002', 'E1003', 'E1004', 'E1005'];

let h: Harness;
let s: RunningService;
let browser: Browser;
const dialogs: string[] = [];

async function signedIn(token: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await page.goto(`${s.url}/ui`);
  expect(page.url()).toBe(`${s.url}/ui/login`);
  await page.getByLabel('Console token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${s.url}/ui`);
  return { context, page };
}

const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run installs it)`);
  rmSync(SHOTS, { recursive: true, force: true });
  mkdirSync(SHOTS, { recursive: true });
  h = await Harness.synced(people, { top: consoleYaml() });
  // Since the sync: three leave (one too many for the 10% rule) and a newcomer joins.
  h.writePeople([...people.map((p) => (leavers.includes(p.id) ? { ...p, status: 'terminated' } : p)), person(30, { first: 'Nina', last: 'Newcomer' })]);
  s = await startTestService(h);
  const first = await s.firstCycle;
  expect(first?.result?.kind).toBe('stopped');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], timeout: 30_000 });
});

afterAll(async () => {
  await browser?.close();
  await s?.stop();
  await h?.close();
});

describe('console in a browser', () => {
  it('signs in and shows the overview: the stopped cycle, the target, the staged set', async () => {
    const { context, page } = await signedIn(OPERATOR_TOKEN);
    await expect.poll(() => page.locator('h1').textContent()).toBe('Overview');
    const text = await page.locator('main').textContent();
    expect(text).toMatch(/stopped by the safety check/);
    expect(text).toMatch(/1 staged/);
    await shot(page, 'overview');
    await context.close();
  });

  it('finds a person in the log and opens their steps', async () => {
    const { context, page } = await signedIn(VIEWER_TOKEN);
    await page.getByRole('link', { name: 'Provisioning log' }).click();
    await page.getByLabel('Person', { exact: true }).fill('user5@example.com');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/\/ui\/log\?person=user5/);
    const record = page.locator('details.record').filter({ hasText: 'createUser' }).first();
    await record.locator('summary').click();
    await expect.poll(() => record.getAttribute('open')).toBe('');
    const steps = await record.locator('ol.steps').textContent();
    expect(steps).toMatch(/source: /);
    expect(steps).toMatch(/export: /);
    await shot(page, 'log');
    await context.close();
  });

  it('shows a <script> from the source as text, never running it', async () => {
    const { context, page } = await signedIn(VIEWER_TOKEN);
    await page.getByLabel('Person by source key').fill('E1021');
    await page.getByLabel('Person by source key').press('Enter');
    await page.waitForURL(/\/ui\/person\?key=E1021/);
    expect(await page.locator('main').textContent()).toContain(hostile);
    expect(await page.locator('main script').count()).toBe(0);
    expect(dialogs).toEqual([]);
    await shot(page, 'person-hostile');
    await context.close();
  });

  it('a viewer has no approve button, and their POST is refused; a POST without the CSRF token is refused', async () => {
    const { context, page } = await signedIn(VIEWER_TOKEN);
    await page.getByRole('link', { name: 'Staged changes' }).click();
    await page.locator('a[href^="/ui/staged/st-"]').first().click();
    await page.waitForURL(/\/ui\/staged\/st-/);
    expect(await page.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    const id = page.url().split('/').at(-1)!;
    const csrf = await page.locator('input[name=csrf]').first().inputValue();
    // The browser's own cookies, sent as a form would send them.
    const asViewer = await context.request.post(`${s.url}/ui/staged/approve`, { form: { id, csrf }, headers: { origin: s.url } });
    expect(asViewer.status()).toBe(403);
    await shot(page, 'staged-viewer');
    await context.close();
    const operator = await signedIn(OPERATOR_TOKEN);
    const noToken = await operator.context.request.post(`${s.url}/ui/staged/approve`, { form: { id }, headers: { origin: s.url } });
    expect(noToken.status()).toBe(403);
    await operator.context.close();
    expect(leavers.map((_, i) => h.sandbox.store.findUserByUserName(`user${i + 1}@example.com`)?.['active'])).toEqual(leavers.map(() => true));
  });

  it('provisions a newcomer on demand and shows the result', async () => {
    const { context, page } = await signedIn(OPERATOR_TOKEN);
    await page.goto(`${s.url}/ui/person?key=E1030`);
    expect(await page.locator('main').textContent()).toMatch(/Account\s*none/);
    await page.getByRole('button', { name: 'Provision now', exact: true }).click();
    await page.waitForURL(`${s.url}/ui/person/provision`);
    const result = await page.locator('main').textContent();
    expect(result).toMatch(/app: action: createUser user30@example\.com/);
    expect(await page.locator('table').last().textContent()).toMatch(/app\s*done/);
    expect(h.sandbox.store.findUserByUserName('user30@example.com')?.['active']).toBe(true);
    await shot(page, 'provision');
    await context.close();
  });

  it('approves a staged change', async () => {
    const { context, page } = await signedIn(OPERATOR_TOKEN);
    await page.getByRole('link', { name: 'Staged changes' }).click();
    await page.locator('a[href^="/ui/staged/st-"]').first().click();
    await shot(page, 'staged');
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.waitForURL(`${s.url}/ui/staged/approve`);
    expect(await page.locator('[role=status]').textContent()).toMatch(/^Approved st-/);
    expect(leavers.map((_, i) => h.sandbox.store.findUserByUserName(`user${i + 1}@example.com`)?.['active'])).toEqual(leavers.map(() => false));
    await shot(page, 'approved');
    s.state.audit.flush();
    expect(h.audit().find((r) => r['action'] === 'staged.approve')).toMatchObject({ initiator: 'console', by: 'console:alice' });
    await context.close();
  });
});
