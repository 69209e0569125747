// Real headless Chromium (Debian's package, installed by scripts/install-test-deps.sh) driven
// by playwright-core. Never a browser downloaded by playwright. A missing browser fails the test.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = process.env.DEVSTATUS_CHROMIUM ?? '/usr/bin/chromium';

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

export interface LaunchOptions {
  /** The browser's language (navigator.language); en-US unless told, so tests do not depend on the host's. */
  locale?: string;
  viewport?: { width: number; height: number };
  timezoneId?: string;
}

export async function launchChromium(opts: LaunchOptions = {}): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: run scripts/install-test-deps.sh as root (apt-get install chromium)`);
  }
  const userDataDir = mkdtempSync(join(tmpdir(), 'devstatus-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
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
    viewport: opts.viewport ?? { width: 1280, height: 800 },
    locale: opts.locale ?? 'en-US',
    ...(opts.timezoneId ? { timezoneId: opts.timezoneId } : {}),
    timeout: 30_000,
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
