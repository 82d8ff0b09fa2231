// The dashboard in a real browser (Debian's Chromium driven by puppeteer-core), against the built
// bin and the loopback sshd: log in through the printed one-time link, watch two hosts' sessions
// appear and a command's output arrive while it runs, approve a pending command and see it run,
// deny one and see it refused, replay a recording; the page fits a desktop and a phone; the API
// answers 401/403 to plain HTTP without the cookie, from another origin or host, without the CSRF
// token; and a secret the server knows never reaches the page. Screenshots go to test-artifacts/.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshdFacts, sshdSkipReason, type SshdFacts } from 'test-utils';
import { spawn } from 'node:child_process';
import { appears, cli, serverHome, startServer, text, type E2eServer } from './helpers';

const facts = sshdFacts();
const CHROMIUM = '/usr/bin/chromium';
const artifacts = join(import.meta.dirname, '..', 'test-artifacts');

/** A plain HTTP request to the dashboard, as a script or another site would send it. */
function plain(url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

describe.skipIf(!facts)(`the dashboard in a real browser ${sshdSkipReason()}`, () => {
  const f = facts as SshdFacts;
  let server: E2eServer;
  let browser: Browser;
  let page: Page;
  let base: string;
  let login: string;
  let work: string;
  let records: string;
  let chrome: string;
  let policy: string;
  const secret = 'dash-Secret-9931';
  /** Every API response the page received, for the secrets check. */
  const seen: string[] = [];
  /** The page's console and errors, shown when it fails to show something. */
  const consoleLines: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run \`pnpm run provision\` (it installs Debian's chromium)`);
    mkdirSync(artifacts, { recursive: true });
    // The test user writes here (the commands run as it); the test watches it.
    work = mkdtempSync(join(tmpdir(), 'mcp-dash-'));
    rmSync(work, { recursive: true });
    mkdirSync(work);
    chmodSync(work, 0o777);
    records = mkdtempSync(join(tmpdir(), 'mcp-dash-rec-'));
    chrome = mkdtempSync(join(tmpdir(), 'mcp-dash-chrome-'));
    // Approval on one host only (the policy's per-host modes): the others run unasked.
    policy = join(tmpdir(), `mcp-dash-policy-${process.pid}.json`);
    writeFileSync(policy, JSON.stringify({ hosts: { [f.loopbackHosts[3] as string]: { approval: 'all' } } }));
    server = await startServer(f, { args: ['--dashboard', '--dashboard-port', '0', '--policy', policy, '--record-dir', records] });
    const link = await server.transport.stderrMatch(/dashboard at (http:\/\/127\.0\.0\.1:\d+)\/: log in with (http:\/\/\S+#login=[\w-]+)/);
    base = link[1] as string;
    login = link[2] as string;
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${chrome}`],
    });
    page = await browser.newPage();
    page.on('console', (message) => consoleLines.push(`${message.type()}: ${message.text()}`));
    page.on('pageerror', (error) => consoleLines.push(`pageerror: ${String(error)}`));
    page.on('response', (response) => {
      if (!response.url().includes('/api/') || response.url().endsWith('/api/events')) return;
      response.text().then((body) => seen.push(body), () => undefined);
    });
    await page.setViewport({ width: 1280, height: 800 });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    for (const path of [work, records, chrome, policy]) rmSync(path, { recursive: true, force: true });
  });

  const terminalText = (session: string): Promise<string> =>
    page.$eval(`[data-session="${session}"] .xterm-rows`, (node) => node.textContent ?? '').catch(() => '');
  const waitFor = async (predicate: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    // The page updates on server-sent events; the browser is asked until it shows the result.
    while (!(await predicate())) {
      if (Date.now() > deadline) {
        await page.screenshot({ path: join(artifacts, `failed-${what.replace(/\W+/g, '-')}.png`) });
        throw new Error(`the page never showed ${what}; its console:\n${consoleLines.join('\n')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  it('logs in through the one-time link (then the link is spent), and shows two hosts at work, output arriving live', async () => {
    await page.goto(login);
    await page.waitForSelector('#live.on', { timeout: 15_000 });
    expect(page.url()).not.toContain('login=');
    // The link worked once: another browser (no cookie) is refused with it.
    const token = /login=([\w-]+)/.exec(login)?.[1] ?? '';
    const reused = await plain(`${base}/api/login`, { method: 'POST', headers: { Origin: base, 'Content-Type': 'application/json' }, body: JSON.stringify({ token }) });
    expect(reused.status).toBe(401);

    const first = `${f.user}@127.0.0.1:${f.port}`;
    const second = `${f.user}@${f.loopbackHosts[2]}:${f.port}`;
    await server.call('execute_command', { host: 'testhost', command: 'echo ready' });
    const slow = await server.call('execute_command_async', { host: 'testhost', command: `for i in 1 2 3 4 5; do echo "line-$i"; sleep 0.4; done; echo ${secret}`, sudo_password: secret });
    const other = await server.call('execute_command', { host: f.loopbackHosts[2], port: f.port, username: f.user, key_filename: f.keyPath, command: 'echo second-host' });
    expect(other.structuredContent, text(other)).toMatchObject({ status: 'completed' });
    // Live: the first lines are on the page while the command still runs.
    await waitFor(async () => (await terminalText(first)).includes('line-2'), 'line-2 in the first session');
    const status = await server.call('get_command_status', { command_id: slow.structuredContent?.command_id });
    expect(status.structuredContent?.status).toBe('running');
    expect(await terminalText(first)).not.toContain('line-5');
    await waitFor(async () => (await terminalText(second)).includes('second-host'), 'the second session');
    await waitFor(async () => (await terminalText(first)).includes('line-5'), 'line-5');
    await page.screenshot({ path: join(artifacts, 'dashboard-sessions.png') });
    expect(await page.$$eval('[data-session]', (cards) => cards.length)).toBe(2);
  }, 60_000);

  it('approves a pending command (it runs) and denies another (it never runs), from the page', async () => {
    const approved = join(work, 'approved');
    const denied = join(work, 'denied');
    const ran = appears(work, 'approved');
    const prod = { host: f.loopbackHosts[3], port: f.port, username: f.user, key_filename: f.keyPath };
    const queued = await server.call('execute_command_async', { ...prod, command: `touch ${approved}` });
    expect(queued.structuredContent?.status).toBe('awaiting_approval');
    await page.click('button[data-tab="approvals"]');
    await page.waitForSelector('[data-approval] button[data-decision="approve_once"]', { timeout: 15_000 });
    expect(await page.$eval('[data-approval] pre.action', (node) => node.textContent)).toBe(`touch ${approved}`);
    await page.screenshot({ path: join(artifacts, 'dashboard-approval.png') });
    // A locator, not page.click: the list re-renders as approvals come and go, and a locator
    // retries on a node that was replaced between finding and clicking ("detached from document").
    await page.locator('[data-approval] button[data-decision="approve_once"]').click();
    await ran;
    expect(existsSync(approved)).toBe(true);
    await page.waitForSelector('#no-approvals:not([hidden])', { timeout: 15_000 });

    const refused = await server.call('execute_command_async', { ...prod, command: `touch ${denied}` });
    await page.waitForSelector('[data-approval] button[data-decision="deny"]', { timeout: 15_000 });
    await page.locator('[data-approval] button[data-decision="deny"]').click();
    await page.waitForSelector('#no-approvals:not([hidden])', { timeout: 15_000 });
    const after = await server.call('get_command_status', { command_id: refused.structuredContent?.command_id });
    expect(after.structuredContent).toMatchObject({ status: 'failed', error: { code: 'APPROVAL_DENIED', message: expect.stringContaining('denied by the person asked (dashboard)') as unknown } });
    expect(existsSync(denied)).toBe(false);
  }, 60_000);

  it('lists the jobs with their exit codes and output, and replays a recording', async () => {
    await page.click('button[data-tab="jobs"]');
    await page.waitForSelector('[data-history]', { timeout: 15_000 });
    const rows = await page.$$eval('[data-history]', (nodes) => nodes.map((node) => node.textContent ?? ''));
    expect(rows.some((row) => row.includes('echo second-host'))).toBe(true);
    // The denied command: its state cell says failed.
    const cells = await page.$$eval('[data-history]', (nodes) => nodes.map((node) => [node.children[0]?.textContent ?? '', node.textContent ?? '']));
    expect(cells.some(([state, row]) => state === 'failed' && (row ?? '').includes('/denied'))).toBe(true);
    await page.click('[data-history]');
    await page.waitForSelector('.output-row pre.out');

    await page.click('button[data-tab="recordings"]');
    await page.waitForSelector('[data-recording]', { timeout: 15_000 });
    const names = await page.$$eval('[data-recording]', (nodes) => nodes.map((node) => node.getAttribute('data-recording') ?? ''));
    expect(names.length).toBeGreaterThanOrEqual(2);
    await page.click(`[data-recording="${names.find((name) => name.includes('127.0.0.1')) ?? ''}"]`);
    await waitFor(async () => (await page.$eval('#player', (node) => node.textContent ?? '')).includes('line-3'), 'the recording playing', 20_000);
    await page.screenshot({ path: join(artifacts, 'dashboard-recording.png') });
  }, 60_000);

  it('fits a phone (390×844) and a desktop (1280×800) without horizontal scrolling', async () => {
    for (const [width, height] of [
      [390, 844],
      [1280, 800],
    ] as const) {
      await page.setViewport({ width, height });
      for (const tab of ['sessions', 'jobs', 'approvals', 'recordings']) {
        await page.click(`button[data-tab="${tab}"]`);
        const scroll = (await page.evaluate('document.documentElement.scrollWidth')) as number;
        expect(scroll, `${tab} at ${width}px`).toBeLessThanOrEqual(width);
      }
      await page.click('button[data-tab="sessions"]');
      await page.screenshot({ path: join(artifacts, `dashboard-${width}x${height}.png`) });
    }
  }, 60_000);

  it('answers plain HTTP without the cookie 401, from another origin or host 403, without the CSRF token 403', async () => {
    expect((await plain(`${base}/api/state`)).status).toBe(401);
    expect((await plain(`${base}/api/events`)).status).toBe(401);
    expect((await plain(`${base}/api/login`, { method: 'POST', headers: { Origin: base }, body: '{"token":"guess"}' })).status).toBe(401);
    // DNS rebinding: a page of evil.example resolved to 127.0.0.1 sends its own Host.
    expect((await plain(`${base}/api/state`, { headers: { Host: 'evil.example' } })).status).toBe(403);
    expect((await plain(`${base}/`, { headers: { Host: `evil.example:${new URL(base).port}` } })).status).toBe(403);
    expect((await plain(`${base}/api/state`, { headers: { Origin: 'http://evil.example' } })).status).toBe(403);
    // With the page's cookie: a foreign origin, a missing origin or a missing CSRF token is refused.
    const cookies = await browser.cookies();
    const cookie = cookies.map((c) => `${c.name}=${c.value}`).join('; ');
    expect(cookies[0]).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect((await plain(`${base}/api/state`, { headers: { Cookie: cookie } })).status).toBe(200);
    const decide = { method: 'POST', body: '{"decision":"deny"}' };
    expect((await plain(`${base}/api/approvals/00000000`, { ...decide, headers: { Cookie: cookie, Origin: base } })).status).toBe(403);
    expect((await plain(`${base}/api/approvals/00000000`, { ...decide, headers: { Cookie: cookie, Origin: 'http://evil.example', 'X-CSRF-Token': 'x' } })).status).toBe(403);
    expect((await plain(`${base}/api/approvals/00000000`, { ...decide, headers: { Cookie: cookie, 'X-CSRF-Token': 'x' } })).status).toBe(403);
  });

  it('is also served under /ui of the Streamable HTTP server, with its own login (not the bearer token)', async () => {
    const token = 'ui-test-token-0123456789abcdef';
    const home = serverHome(f);
    const child = spawn(process.execPath, [cli, '--http', '--http-port', '0', '--dashboard', '--dashboard-port', '0'], {
      env: { PATH: process.env.PATH ?? '', HOME: home, MCP_SSH_HTTP_TOKEN: token },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    try {
      let stderr = '';
      const link = await new Promise<RegExpExecArray>((resolve, reject) => {
        child.stderr?.on('data', (chunk: Buffer) => {
          stderr += chunk.toString('utf8');
          const match = /also at (http:\/\/127\.0\.0\.1:\d+)\/ui\/: log in with (\S+#login=[\w-]+)/.exec(stderr);
          if (match) resolve(match);
        });
        child.once('exit', () => reject(new Error(`the server exited: ${stderr}`)));
      });
      const [, httpBase = '', uiLogin = ''] = link;
      expect((await plain(`${httpBase}/ui/api/state`)).status).toBe(401);
      expect((await plain(`${httpBase}/mcp`, { method: 'POST', body: '{}' })).status).toBe(401);
      const other = await browser.newPage();
      try {
        await other.goto(uiLogin);
        await other.waitForSelector('#live.on', { timeout: 15_000 });
        expect(other.url()).toBe(`${httpBase}/ui/`);
        const cookies = await browser.cookies();
        expect(cookies.find((cookie) => cookie.path === '/ui')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
      } finally {
        await other.close();
      }
      expect(stderr).not.toContain(token);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      rmSync(home, { recursive: true, force: true });
    }
  }, 60_000);

  it('never shows a secret the server knows: the API answers and the page', async () => {
    const body = (await page.evaluate('document.body.innerText')) as string;
    const all = [...seen, body].join('\n');
    expect(all).toContain('line-5');
    expect(all).not.toContain(secret);
  });
});
