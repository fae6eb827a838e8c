import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startTestNode, uniqueId, type TestNode } from '@herald/testing';

// The demo pages and the SDK bundle in a real browser: Debian's Chromium (apt, never a browser
// download) driven by playwright-core. Missing Chromium fails the suite in CI (CI=true) and skips
// it locally with the reason, like the infra suites (libs/testing/src/infra.ts).
// Waits are on page state (waitForFunction / locators), never on time.

const CHROMIUM = process.env.HERALD_CHROMIUM ?? '/usr/bin/chromium';
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const ARTIFACTS = join(ROOT, 'test', 'artifacts');

function describeWithChromium(title: string, fn: () => void): void {
  if (existsSync(CHROMIUM)) {
    describe(title, fn);
    return;
  }
  const how = 'install it with `apt-get install -y chromium` or set HERALD_CHROMIUM';
  if (process.env.CI === 'true') {
    describe(title, () => {
      it('needs Chromium', () => {
        throw new Error(`Chromium is required in CI but ${CHROMIUM} is missing: ${how}`);
      });
    });
  } else {
    describe.skip(`${title} (skipped: Chromium not found at ${CHROMIUM}; ${how})`, () => {
      it('needs Chromium', () => undefined);
    });
  }
}

describeWithChromium('demo pages in Chromium', () => {
  let node: TestNode;
  let context: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    // The pages load dist/sdk/herald.js; `npm test` builds it, a lone run of this suite may not have.
    if (!existsSync(join(ROOT, 'dist', 'sdk', 'herald.js')))
      execFileSync(process.execPath, [join(ROOT, 'libs', 'sdk', 'build.mjs')], { stdio: 'inherit' });
    // Test nodes run in development, so they serve the demo for their first app (alpha).
    node = await startTestNode({ apps: { alpha: { allowedOrigins: ['*'] } } });
    profile = mkdtempSync(join(tmpdir(), 'herald-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await node?.close();
  });

  async function open(path: string, init?: () => void): Promise<Page> {
    const page = await context.newPage();
    if (init) await page.addInitScript(init);
    await page.goto(`${node.url}${path}`);
    await page.waitForFunction(() => document.body.dataset.ready === 'true' || !!document.body.dataset.error);
    expect(await page.evaluate(() => document.body.dataset.error ?? null)).toBeNull();
    return page;
  }

  async function members(page: Page): Promise<string[]> {
    return (await page.locator('#members li').allTextContents()).sort();
  }

  it('serves the index at /', async () => {
    const page = await context.newPage();
    await page.goto(`${node.url}/`);
    await expect(page.locator('a[href="/demo/chat"]').count()).resolves.toBeGreaterThan(0);
    await page.close();
  });

  it('chat: two pages exchange messages and see each other present and typing', async () => {
    const room = `chat:${uniqueId('room')}`;
    const alice = await open(`/demo/chat?name=alice&channel=${room}`);
    const bob = await open(`/demo/chat?name=bob&channel=${room}`);
    for (const page of [alice, bob]) {
      await page.waitForFunction(() => document.querySelectorAll('#members li').length === 2);
      expect(await members(page)).toEqual(['alice', 'bob']);
      expect(await page.evaluate(() => document.body.dataset.transport)).toBe('websocket');
    }

    await bob.locator('#text').pressSequentially('hel');
    await alice.locator('#typing', { hasText: 'bob is typing' }).waitFor();

    await alice.locator('#text').fill('hello from alice');
    await alice.locator('#text').press('Enter');
    await bob.locator('#messages li', { hasText: 'hello from alice' }).waitFor();
    await bob.locator('#text').fill('hi alice');
    await bob.locator('#text').press('Enter');
    await alice.locator('#messages li', { hasText: 'hi alice' }).waitFor();
    // Each message exactly once on both pages.
    for (const page of [alice, bob]) {
      expect(await page.locator('#messages li', { hasText: 'hello from alice' }).count()).toBe(1);
      expect(await page.locator('#messages li', { hasText: 'hi alice' }).count()).toBe(1);
    }

    await bob.close();
    await alice.waitForFunction(() => document.querySelectorAll('#members li').length === 1);
    expect(await members(alice)).toEqual(['alice']);
    await alice.close();
  }, 30_000);

  it('falls back to SSE when the page has no working WebSocket', async () => {
    const room = `chat:${uniqueId('room')}`;
    const blocked = () => {
      // As a proxy or policy that blocks WebSocket would: constructing one fails.
      (window as unknown as { WebSocket: unknown }).WebSocket = function BlockedWebSocket() {
        throw new Error('WebSocket is disabled');
      };
    };
    const sse = await open(`/demo/chat?name=carol&channel=${room}`, blocked);
    await sse.waitForFunction(() => document.body.dataset.transport !== undefined);
    expect(await sse.evaluate(() => document.body.dataset.transport)).toBe('sse');
    const ws = await open(`/demo/chat?name=dave&channel=${room}`);
    await sse.waitForFunction(() => document.querySelectorAll('#members li').length === 2);

    await sse.locator('#text').fill('sent over the session endpoint');
    await sse.locator('#text').press('Enter');
    await ws.locator('#messages li', { hasText: 'sent over the session endpoint' }).waitFor();
    await ws.locator('#text').fill('received over SSE');
    await ws.locator('#text').press('Enter');
    await sse.locator('#messages li', { hasText: 'received over SSE' }).waitFor();
    await sse.close();
    await ws.close();
  }, 30_000);

  it('dashboard plots the node publish and delivery rates (screenshot kept in test/artifacts)', async () => {
    // rate=0: the page publishes nothing itself, so every count comes from the REST publishes below.
    const page = await open('/demo/dashboard?rate=0');
    await page.setViewportSize({ width: 1100, height: 640 });
    // A second subscriber outside the browser: each publication is then delivered twice.
    const watcher = await node.connect(node.apps.alpha, uniqueId('watcher'));
    await watcher.request({ cmd: 'subscribe', channel: 'chat:dashboard' });
    const PUBLISHED = 24;
    const rest = node.rest(node.apps.alpha);
    for (let i = 0; i < PUBLISHED; i++) await rest.publish('chat:dashboard', { i });
    await watcher.nextPubs('chat:dashboard', PUBLISHED);
    // The page reads the node's counters once a second: wait for the totals (and its own count).
    await page.waitForFunction(
      (n) =>
        document.getElementById('pubTotal')!.textContent === String(n) &&
        document.getElementById('delTotal')!.textContent === String(2 * n) &&
        document.getElementById('total')!.textContent === String(n),
      PUBLISHED,
      { timeout: 15_000 },
    );
    // The plotted series (the peaks of what was drawn) and the page's own count are positive.
    const shown = await page.evaluate(() => ({
      peakPub: Number(document.body.dataset.peakPub),
      peakDel: Number(document.body.dataset.peakDel),
    }));
    expect(shown.peakPub).toBeGreaterThan(0);
    expect(shown.peakDel).toBeGreaterThan(0);
    // Exactly what was published: no publish of the page's own (rate=0) and nothing counted twice.
    expect(await page.locator('#pubTotal').textContent()).toBe(String(PUBLISHED));
    await watcher.close();
    mkdirSync(ARTIFACTS, { recursive: true });
    const file = join(ARTIFACTS, 'dashboard.png');
    await page.screenshot({ path: file, fullPage: true });
    expect(statSync(file).size).toBeGreaterThan(5000);
    await page.close();
  }, 30_000);
});
