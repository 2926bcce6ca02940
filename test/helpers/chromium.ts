/**
 * Headless Chromium for tests of generated HTML: the DOM after scripts ran (--dump-dom), a screenshot, and
 * the page's console messages (Chromium logs them to stderr as `INFO:CONSOLE:<line>] "<message>", source: …`).
 * Debian's `chromium` package (scripts/install-deps.sh installs it); CHROMIUM=/path overrides the binary.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const CANDIDATES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];

/** The Chromium binary, or undefined when none is installed. */
export function findChromium(): string | undefined {
  if (process.env.CHROMIUM) return existsSync(process.env.CHROMIUM) ? process.env.CHROMIUM : undefined;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    for (const name of CANDIDATES) if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** Throws a clear error when Chromium is missing (the rendering tests fail rather than skip). */
export function requireChromium(): string {
  const bin = findChromium();
  if (!bin) {
    throw new Error('headless Chromium is needed to test the HTML report: none found on PATH (chromium, chromium-browser, google-chrome). Install it with `sudo bash scripts/install-deps.sh` (Debian package chromium) or set CHROMIUM=/path/to/chrome');
  }
  return bin;
}

export interface ChromiumResult {
  /** The serialized DOM after the page's scripts ran (with dumpDom). */
  dom: string;
  /** Console messages of the page, e.g. `"Uncaught ReferenceError: f is not defined"`. */
  console: string[];
  stderr: string;
}

/** Loads an HTML file in headless Chromium and dumps its DOM or takes a screenshot of the window. */
export function runChromium(file: string, options: { dumpDom?: boolean; screenshot?: string; width?: number; height?: number } = {}): ChromiumResult {
  const bin = requireChromium();
  const profile = mkdtempSync(join(tmpdir(), 'octet-chromium-'));
  const args = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--hide-scrollbars',
    '--no-first-run',
    '--disable-extensions',
    '--enable-logging=stderr',
    '--v=0',
    `--user-data-dir=${profile}`,
    `--window-size=${options.width ?? 1400},${options.height ?? 2000}`,
  ];
  if (options.dumpDom) args.push('--dump-dom');
  if (options.screenshot) args.push(`--screenshot=${options.screenshot}`);
  args.push(pathToFileURL(file).href);
  try {
    const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 90_000, maxBuffer: 64 * 1024 * 1024 });
    if (r.error) throw new Error(`${bin} failed to run: ${r.error.message}`);
    if (r.status !== 0) throw new Error(`${bin} exited with ${r.status}: ${r.stderr.slice(-2000)}`);
    const consoleLines = r.stderr
      .split('\n')
      .filter((l) => /:CONSOLE(:\d+|\(\d+\))\]/.test(l))
      .map((l) => l.replace(/^.*?:CONSOLE(:\d+|\(\d+\))\]\s*/, ''));
    return { dom: r.stdout, console: consoleLines, stderr: r.stderr };
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}
