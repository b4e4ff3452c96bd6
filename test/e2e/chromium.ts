import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium (a browser cannot be downloaded here), headless and quiet on a closed network. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
}
