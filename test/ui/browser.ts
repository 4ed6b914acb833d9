/**
 * One headless Chromium for a whole test file (Debian's /usr/bin/chromium driven by playwright-core), with what
 * every step needs: screenshots under test-artifacts/ui/, the page's HTML and console log saved when a step fails,
 * and axe-core injected to report accessibility violations.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const ARTIFACTS = resolve(import.meta.dirname, '../../test-artifacts/ui');

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export interface Session {
  readonly browser: Browser;
  readonly context: BrowserContext;
  readonly page: Page;
  /** Console messages and page errors, in order, for the failure report. */
  readonly console: string[];
  close(): Promise<void>;
}

export async function openBrowser(): Promise<Session> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    // Root in CI containers cannot use Chromium's sandbox; /dev/shm there is often too small for it.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
  // bypassCSP: the UI's Content-Security-Policy forbids inline scripts, which is how axe-core is injected.
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, bypassCSP: true });
  const page = await context.newPage();
  const log: string[] = [];
  page.on('console', (m) => log.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => log.push(`[pageerror] ${e.message}`));
  page.on('requestfailed', (r) => {
    // Aborted blocking queries on navigation are normal; anything else is worth seeing.
    if (r.failure()?.errorText !== 'net::ERR_ABORTED') log.push(`[requestfailed] ${r.method()} ${r.url()} ${r.failure()?.errorText ?? ''}`);
  });
  return {
    browser,
    context,
    page,
    console: log,
    close: async () => {
      await context.close().catch(() => undefined);
      await browser.close();
    },
  };
}

/** Runs one step; on failure saves a screenshot, the HTML and the console log named after it, then rethrows. */
export async function step<T>(session: Session, name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const base = join(ARTIFACTS, `FAILED-${name}`);
    await session.page.screenshot({ path: `${base}.png`, fullPage: true }).catch(() => undefined);
    writeFileSync(`${base}.html`, await session.page.content().catch((e: unknown) => `<!-- no content: ${String(e)} -->`));
    writeFileSync(`${base}.console.log`, `${session.console.join('\n')}\n`);
    throw err;
  }
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[]; failureSummary?: string }>;
}

/** axe-core's WCAG 2.x A/AA rules on the current page; returns the serious and critical violations. */
export async function axeSerious(page: Page): Promise<AxeViolation[]> {
  const loaded = await page.evaluate(() => typeof (globalThis as { axe?: unknown }).axe !== 'undefined');
  if (!loaded) await page.addScriptTag({ content: AXE_SOURCE });
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(ctx: unknown, opts: unknown): Promise<{ violations: AxeViolation[] }> } }).axe;
    // Only violations are collected (passes and incomplete results cost most of axe's time on a loaded machine).
    const result = await axe.run((globalThis as unknown as { document: unknown }).document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
      resultTypes: ['violations'],
    });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })) }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** Fails with axe-core's description when the page has a serious or critical violation. */
export async function assertAccessible(page: Page, name: string): Promise<void> {
  const serious = await axeSerious(page);
  if (serious.length > 0) throw new Error(`axe-core on ${name}:\n${describeViolations(serious)}`);
}

export function describeViolations(violations: AxeViolation[]): string {
  return violations.map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('; ')}`).join('\n');
}
