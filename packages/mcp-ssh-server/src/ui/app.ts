// The dashboard page: sessions with a live read-only terminal each, jobs (running, awaiting input
// or approval, history), pending approvals with their decisions, and recordings replayed in
// asciinema-player. Everything comes from the server's /api (cookie, CSRF token); live updates
// arrive as server-sent events that say what changed, and the page reads the new output by offset.
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import './style.css';

interface JobInfo {
  id: string;
  command: string;
  sessionKey: string;
  state: string;
  exitCode: number | null;
  startedAt: string;
  endedAt: string | null;
  durationMs: number;
  totalChars: number;
  awaitingInput: string | null;
  error: { code: string; message: string } | null;
}
interface SessionInfo {
  session: string;
  alias: string;
  connected: boolean;
  login_shell: string;
  device: { profile: string; prompt: string; mode: string } | null;
  detection: { kind: string; profile: string };
}
interface Pending {
  id: string;
  tool: string;
  session: string;
  directory: string | null;
  action: string;
  class: string;
  commandId: string | null;
  expiresAt: string;
}
interface State {
  sessions: SessionInfo[];
  jobs: JobInfo[];
  pending: Pending[];
  recording: boolean;
}

declare const AsciinemaPlayer: { create(src: string, element: HTMLElement, options?: Record<string, unknown>): { dispose?(): void } };

let csrf = '';
const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === 'class') node.className = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
}

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const headers: Record<string, string> = { ...(init.headers as Record<string, string> | undefined) };
  if (init.method && init.method !== 'GET') {
    headers['Content-Type'] = 'application/json';
    headers['X-CSRF-Token'] = csrf;
  }
  const response = await fetch(path, { ...init, headers, credentials: 'same-origin' });
  if (response.status === 401) {
    $('login').hidden = false;
    throw new Error('not logged in');
  }
  const body = (await response.json()) as T & { error?: string };
  if (!response.ok) throw new Error(body.error ?? `HTTP ${response.status}`);
  return body;
}

/** Logs in with the one-time token in the URL fragment, or resumes the cookie's session. */
async function login(): Promise<boolean> {
  const token = /(?:^#|&)login=([A-Za-z0-9_-]+)/.exec(location.hash)?.[1];
  if (token) {
    history.replaceState(null, '', location.pathname);
    try {
      csrf = (await api<{ csrf: string }>('api/login', { method: 'POST', body: JSON.stringify({ token }) })).csrf;
      return true;
    } catch {
      // A used or wrong link: the cookie may still be good.
    }
  }
  try {
    csrf = (await api<{ csrf: string }>('api/session')).csrf;
    return true;
  } catch {
    $('login').hidden = false;
    return false;
  }
}

// Tabs.
for (const button of document.querySelectorAll<HTMLButtonElement>('#tabs button')) {
  button.addEventListener('click', () => {
    for (const other of document.querySelectorAll<HTMLButtonElement>('#tabs button')) other.classList.toggle('active', other === button);
    for (const tab of document.querySelectorAll<HTMLElement>('.tab')) tab.hidden = tab.id !== button.dataset.tab;
    if (button.dataset.tab === 'recordings') void loadRecordings();
    if (button.dataset.tab === 'jobs') void loadHistory(true);
    for (const view of terminals.values()) view.fit.fit();
  });
}

const badge = (text: string, kind = text): HTMLElement => el('span', { class: `badge ${kind}` }, text);
const when = (iso: string): string => new Date(iso).toLocaleTimeString();
const duration = (ms: number): string => (ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`);

/** One session's card: its facts and a read-only terminal fed with its jobs' output. */
interface SessionView {
  readonly card: HTMLElement;
  readonly meta: HTMLElement;
  readonly term: Terminal;
  readonly fit: FitAddon;
}
const terminals = new Map<string, SessionView>();
/** How far each job's output has been read (its next offset), and where it is shown. */
const followed = new Map<string, { offset: number; session: string; announced: boolean; reading: boolean; again: boolean }>();
let state: State = { sessions: [], jobs: [], pending: [], recording: false };

function sessionView(info: SessionInfo): SessionView {
  const existing = terminals.get(info.session);
  if (existing) return existing;
  const meta = el('div', { class: 'meta' });
  const host = el('div', { class: 'term', 'data-testid': 'terminal' });
  const card = el('div', { class: 'card', 'data-session': info.session }, el('div', { class: 'head' }, el('span', { class: 'title' }, info.session)), meta, host);
  $('session-list').append(card);
  const term = new Terminal({ disableStdin: true, convertEol: true, fontSize: 12, rows: 14, scrollback: 5000, cursorBlink: false, theme: { background: '#111111' } });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(host);
  fit.fit();
  const view = { card, meta, term, fit };
  terminals.set(info.session, view);
  return view;
}

function renderSessions(): void {
  $('no-sessions').hidden = state.sessions.length > 0;
  $('count-sessions').textContent = state.sessions.length ? String(state.sessions.length) : '';
  for (const info of state.sessions) {
    const view = sessionView(info);
    const running = state.jobs.filter((job) => job.sessionKey === info.session);
    view.meta.replaceChildren(
      badge(info.connected ? 'connected' : 'lost'),
      ' ',
      info.device ? `${info.device.profile} at ${info.device.prompt} (${info.device.mode})` : `${info.detection.profile} · ${info.login_shell}`,
      info.alias !== info.session ? ` · as ${info.alias}` : '',
      ...running.map((job) => el('span', {}, ' · ', badge(job.state), ' ', job.command.slice(0, 80))),
    );
  }
  for (const [key, view] of terminals) {
    if (state.sessions.some((info) => info.session === key)) continue;
    view.term.dispose();
    view.card.remove();
    terminals.delete(key);
  }
}

function jobCard(job: JobInfo): HTMLElement {
  const out = el('pre', { class: 'out', 'data-job-output': job.id });
  return el(
    'div',
    { class: 'card', 'data-job': job.id },
    el('div', { class: 'head' }, badge(job.state), el('span', { class: 'title' }, job.command)),
    el('div', { class: 'meta' }, `${job.sessionKey} · since ${when(job.startedAt)}${job.awaitingInput ? ` · waits at ${JSON.stringify(job.awaitingInput)}` : ''}`),
    out,
  );
}

function renderJobs(): void {
  $('count-jobs').textContent = state.jobs.length ? String(state.jobs.length) : '';
  const list = $('running');
  const shown = new Set(state.jobs.map((job) => job.id));
  for (const card of [...list.querySelectorAll<HTMLElement>('[data-job]')]) if (!shown.has(card.dataset.job ?? '')) card.remove();
  if (state.jobs.length === 0 && !list.querySelector('.empty')) list.replaceChildren(el('p', { class: 'empty' }, 'Nothing is running.'));
  for (const job of state.jobs) {
    list.querySelector('.empty')?.remove();
    const existing = list.querySelector<HTMLElement>(`[data-job="${job.id}"]`);
    const card = jobCard(job);
    if (existing) {
      // Keep the output read so far; refresh the facts.
      const out = existing.querySelector('pre.out');
      if (out) card.querySelector('pre.out')?.replaceWith(out);
      existing.replaceWith(card);
    } else list.append(card);
    follow(job.id, job.sessionKey);
  }
}

function renderApprovals(): void {
  const pending = state.pending;
  $('no-approvals').hidden = pending.length > 0;
  $('count-approvals').textContent = pending.length ? String(pending.length) : '';
  const list = $('pending');
  list.replaceChildren(
    ...pending.map((request) => {
      const decide = (decision: string) => async () => {
        try {
          await api(`api/approvals/${request.id}`, { method: 'POST', body: JSON.stringify({ decision }) });
        } catch (error) {
          alert((error as Error).message);
        }
      };
      const button = (label: string, decision: string, kind: string): HTMLButtonElement => {
        const node = el('button', { class: kind, 'data-decision': decision }, label);
        node.addEventListener('click', () => void decide(decision)());
        return node;
      };
      return el(
        'div',
        { class: 'card', 'data-approval': request.id },
        el('div', { class: 'head' }, badge(request.class), el('span', { class: 'title' }, `${request.tool} on ${request.session}`)),
        el('div', { class: 'meta' }, `${request.directory ? `in ${request.directory} · ` : ''}expires ${when(request.expiresAt)} · id ${request.id.slice(0, 8)}`),
        el('pre', { class: 'action' }, visible(request.action)),
        el('div', { class: 'actions' }, button('Approve once', 'approve_once', 'approve'), button('Approve for this session', 'approve_for_session', ''), button('Deny', 'deny', 'deny')),
      );
    }),
  );
}

/** `text` with control, bidi and invisible format characters shown as \\uXXXX (newlines and tabs kept): nothing in an action hides. */
function visible(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Reads a job's new output and shows it: in its session's terminal and, while it runs, its card. */
function follow(id: string, session: string): void {
  let entry = followed.get(id);
  if (!entry) {
    entry = { offset: 0, session, announced: false, reading: false, again: false };
    followed.set(id, entry);
  }
  const current = entry;
  if (current.reading) {
    current.again = true;
    return;
  }
  current.reading = true;
  void (async () => {
    try {
      // Output of a session the page has not drawn yet: draw it first, so nothing is skipped.
      if (!terminals.has(session)) await refresh();
      do {
        current.again = false;
        const status = await api<{ job: JobInfo; output: { text: string; nextOffset: number; more: boolean } }>(`api/jobs/${id}?since=${current.offset}`);
        const view = terminals.get(session);
        const neverRan = (status.job as JobInfo & { ranAt?: string | null }).ranAt === null && status.job.state !== 'awaiting_approval';
        if (neverRan) {
          view?.term.write(`\x1b[2m[not run: ${status.job.command.slice(0, 60).replace(/\n/g, ' ')}: ${status.job.error?.code ?? status.job.state}]\x1b[0m\r\n`);
          followed.delete(id);
          return;
        }
        if (!current.announced && view && status.job.state !== 'awaiting_approval') {
          current.announced = true;
          view.term.write(`\x1b[1;36m$ ${status.job.command.replace(/\n/g, '\r\n> ')}\x1b[0m\r\n`);
        }
        if (status.output.text && view) view.term.write(status.output.text);
        const out = document.querySelector(`[data-job-output="${id}"]`);
        if (out && status.output.text) {
          out.textContent = (out.textContent ?? '') + status.output.text;
          out.scrollTop = out.scrollHeight;
        }
        current.offset = status.output.nextOffset;
        if (status.output.more) current.again = true;
        const ended = !['running', 'awaiting_input', 'awaiting_approval'].includes(status.job.state);
        if (ended && !status.output.more && view && current.announced) {
          view.term.write(`\x1b[2m[${status.job.state}${status.job.exitCode === null ? '' : `, exit ${status.job.exitCode}`}]\x1b[0m\r\n`);
          followed.delete(id);
          return;
        }
      } while (current.again);
    } catch {
      // The job left the history or the page lost its login: nothing more to show.
    } finally {
      current.reading = false;
    }
  })();
}

let historyOffset = 0;
async function loadHistory(reset: boolean): Promise<void> {
  if (reset) historyOffset = 0;
  const page = await api<{ jobs: JobInfo[]; more: boolean }>(`api/history?limit=20&offset=${historyOffset}`);
  const rows = page.jobs.map((job) => {
    const row = el(
      'tr',
      { class: 'job', 'data-history': job.id },
      el('td', {}, badge(job.state)),
      el('td', {}, job.exitCode === null ? '–' : String(job.exitCode)),
      el('td', { class: 'hide-narrow' }, duration(job.durationMs)),
      el('td', {}, job.command),
      el('td', { class: 'hide-narrow' }, job.sessionKey),
    );
    row.addEventListener('click', () => void showOutput(row, job.id));
    return row;
  });
  const table =
    reset || !$('history').querySelector('table')
      ? el('table', {}, el('tr', {}, el('th', { style: 'width:110px' }, 'state'), el('th', { style: 'width:50px' }, 'exit'), el('th', { class: 'hide-narrow', style: 'width:80px' }, 'took'), el('th', {}, 'command'), el('th', { class: 'hide-narrow' }, 'session')))
      : ($('history').querySelector('table') as HTMLTableElement);
  table.append(...rows);
  if (reset) $('history').replaceChildren(table);
  historyOffset += page.jobs.length;
  $('older').hidden = !page.more;
}
$('older').addEventListener('click', () => void loadHistory(false));

async function showOutput(row: HTMLElement, id: string): Promise<void> {
  const next = row.nextElementSibling;
  if (next?.classList.contains('output-row')) {
    next.remove();
    return;
  }
  const status = await api<{ output: { text: string; more: boolean; nextOffset: number } }>(`api/jobs/${id}?since=0`);
  const cell = el('td', { colspan: '5' }, el('pre', { class: 'out' }, status.output.text || '(no output)', status.output.more ? `\n[… more from offset ${status.output.nextOffset}]` : ''));
  row.after(el('tr', { class: 'output-row' }, cell));
}

async function loadRecordings(): Promise<void> {
  const { recordings } = await api<{ recordings: { name: string; bytes: number }[] }>('api/recordings');
  $('no-recordings').hidden = recordings.length > 0;
  $('recording-list').replaceChildren(
    ...recordings.map((recording) => {
      const button = el('button', { class: 'recording', 'data-recording': recording.name }, `${recording.name} (${recording.bytes} bytes)`);
      button.addEventListener('click', () => {
        const player = $('player');
        player.replaceChildren();
        AsciinemaPlayer.create(`api/recordings/${encodeURIComponent(recording.name)}`, player, { autoPlay: true, fit: 'width', speed: 4, idleTimeLimit: 1 });
      });
      return button;
    }),
  );
}

async function refresh(): Promise<void> {
  state = await api<State>('api/state');
  renderSessions();
  renderJobs();
  renderApprovals();
}

function connect(): void {
  const events = new EventSource('api/events');
  events.addEventListener('open', () => {
    $('live').classList.add('on');
    void refresh();
  });
  events.addEventListener('error', () => $('live').classList.remove('on'));
  events.addEventListener('state', () => void refresh());
  events.addEventListener('output', (event) => {
    const { id, session } = JSON.parse((event as MessageEvent<string>).data) as { id: string; session: string };
    follow(id, session);
  });
}

window.addEventListener('resize', () => {
  for (const view of terminals.values()) view.fit.fit();
});

void (async () => {
  if (!(await login())) return;
  await refresh();
  connect();
})();
