/**
 * Headless Chromium for the console's browser tests: Debian's `chromium` (CHROMIUM_PATH, default
 * /usr/bin/chromium) driven by playwright-core, with the flags this machine's closed network needs.
 * `launchChromium` returns null when Chromium cannot start — and throws under CI=true, where a
 * browser test that cannot run is a failure, not a skip.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Screenshots of every run (git-ignored). */
export const ARTIFACTS = path.join(ROOT, 'test-artifacts/console');
/** Screenshots kept with the docs, rewritten when CONSOLE_SCREENSHOTS_TO_DOCS=1. */
export const DOCS_SCREENSHOTS = path.join(ROOT, 'docs/console');

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

export async function launchChromium(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<Browser | null> {
  const executablePath = env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  const ci = env.CI === 'true';
  if (!existsSync(executablePath)) {
    if (ci) throw new Error(`Chromium not found at ${executablePath}: .ci/run installs Debian's chromium`);
    return null;
  }
  try {
    return await chromium.launch({ executablePath, headless: true, args: CHROMIUM_FLAGS, timeout: 60_000 });
  } catch (err) {
    if (ci) throw err;
    process.stderr.write(`browser tests skipped: Chromium did not start: ${String(err)}\n`);
    return null;
  }
}

/** Save a full-page screenshot as a test artifact (and into docs/console when asked). */
export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  const png = await page.screenshot({ path: file, fullPage: true });
  if (process.env.CONSOLE_SCREENSHOTS_TO_DOCS === '1') {
    await mkdir(DOCS_SCREENSHOTS, { recursive: true });
    await writeFile(path.join(DOCS_SCREENSHOTS, `${name}.png`), png);
  }
}
