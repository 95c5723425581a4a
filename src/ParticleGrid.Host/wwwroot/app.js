// ParticleGrid QA: lots, lot profiles and verdicts, the particle gallery, the review queue and run progress.
// Plain ES module, no framework, no build step. Every API call carries the bearer token kept in sessionStorage;
// images are fetched with it too and shown through blob: URLs (an <img src> cannot send the header).

const TOKEN_KEY = 'particlegrid.token';
const SVG_NS = 'http://www.w3.org/2000/svg';
const FALLBACK_CLASSES = ['bubble', 'silicone_oil', 'glass', 'protein'];
const GALLERY_PAGE = 60;
/** Lots per page of the lot list (the hash's limit= overrides it, 1-500). */
const LOT_PAGE = 25;
const REVIEW_PAGE = 20;
const THUMBNAIL_CONCURRENCY = 6;

const TYPE_COLOURS = {
  bubble: '#9cc3e6',
  silicone_oil: '#e0a526',
  glass: '#2a9d8f',
  protein: '#7b4fa0',
  fibre: '#8c5a3c',
  unclassified: '#8a939e',
};
const EXTRA_COLOURS = ['#d1495b', '#3d5a80', '#6a994e', '#bc6c25', '#5e548e'];

// ---------------------------------------------------------------------------------------------------------------
// Small DOM helpers

function setProps(el, props) {
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value == null || value === false) continue;
    if (key === 'testid') el.setAttribute('data-testid', value);
    else if (key === 'text') el.textContent = String(value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'value' || key === 'checked' || key === 'disabled' || key === 'selected') el[key] = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
}

function appendKids(el, kids) {
  for (const kid of kids.flat(Infinity)) {
    if (kid == null || kid === false) continue;
    el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
}

/** Creates an HTML element: h('a', {href: '#/lots', testid: 'x'}, 'text', child...). */
function h(tag, props, ...kids) {
  const el = document.createElement(tag);
  setProps(el, props);
  appendKids(el, kids);
  return el;
}

/** Creates an SVG element. */
function s(tag, props, ...kids) {
  const el = document.createElementNS(SVG_NS, tag);
  setProps(el, props);
  appendKids(el, kids);
  return el;
}

const enc = encodeURIComponent;
const typeName = t => String(t ?? 'unclassified').replace(/_/g, ' ');

function fmtNum(v) {
  if (v == null || Number.isNaN(v)) return '—';
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  const digits = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2;
  return v.toLocaleString('en-US', { maximumFractionDigits: digits });
}

const fmtPct = v => (v == null ? '—' : `${(v * 100).toFixed(1)} %`);
const fmtMl = v => (v == null ? 'unknown' : `${fmtNum(v)} mL`);

function fmtDate(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function plural(n, one, many = `${one}s`) {
  return `${fmtNum(n)} ${n === 1 ? one : many}`;
}

// Pass, Fail or NotAssessable: the product never says more than its data supports (docs/validation.md).
function verdictClass(outcome) {
  return outcome === 'Pass' ? 'pass' : outcome === 'Fail' ? 'fail' : 'notassessable';
}

function verdictText(outcome) {
  return outcome === 'Pass' ? 'PASS' : outcome === 'Fail' ? 'FAIL' : 'NOT ASSESSABLE';
}

function typeColour(type, index = 0) {
  return TYPE_COLOURS[type] ?? EXTRA_COLOURS[index % EXTRA_COLOURS.length];
}

/** Runs at most n promises at a time. */
function limiter(n) {
  let active = 0;
  const queue = [];
  const next = () => {
    if (active >= n || queue.length === 0) return;
    active++;
    const { fn, resolve, reject } = queue.shift();
    Promise.resolve().then(fn).then(resolve, reject).finally(() => { active--; next(); });
  };
  return fn => new Promise((resolve, reject) => { queue.push({ fn, resolve, reject }); next(); });
}

// ---------------------------------------------------------------------------------------------------------------
// Session and API

let token = sessionStorage.getItem(TOKEN_KEY);
let view = null; // the current view's context: {signal, urls, alive, ...}

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

class SignedOut extends Error {
  constructor() { super('signed out'); }
}

function apiUrl(path) {
  return new URL(path.replace(/^\/+/, ''), document.baseURI).toString();
}

async function errorMessage(res) {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text);
    if (body && typeof body.error === 'string') return body.error;
    if (body && typeof body.title === 'string') return body.detail ? `${body.title}: ${body.detail}` : body.title;
  } catch { /* not JSON */ }
  return text.trim() || `${res.status} ${res.statusText}`;
}

/**
 * Calls the API with the bearer token. as: 'json' (default), 'blob' or 'response'.
 * A 401 signs out and throws SignedOut; another error status throws ApiError with the server's {error} message.
 */
async function api(path, { method = 'GET', body, as = 'json', signal = view?.signal } = {}) {
  const used = token;
  const headers = { Authorization: `Bearer ${used}` };
  if (as === 'json') headers.Accept = 'application/json';
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(apiUrl(path), {
      // images may come from the browser's cache (as the server's Cache-Control allows); data is always fresh
      method, headers, signal, cache: as === 'blob' ? 'default' : 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, `The server cannot be reached (${e.message}).`);
  }
  if (res.status === 401) {
    // several requests may be refused at once: sign out once, and not a token signed in since
    if (token && token === used) signOut('The server refused the token (it may have been revoked). Sign in again.');
    throw new SignedOut();
  }
  if (!res.ok) throw new ApiError(res.status, await errorMessage(res));
  if (as === 'response') return res;
  if (as === 'blob') return res.blob();
  if (res.status === 204) return null;
  return res.json();
}

/** Fetches an image with the token and returns an object URL owned by the current view (revoked when it closes). */
async function imageUrl(path, ctx = view) {
  const blob = await api(path, { as: 'blob', signal: ctx.signal });
  if (!ctx.alive) return null;
  const url = URL.createObjectURL(blob);
  ctx.urls.add(url);
  return url;
}

function isQuiet(e) {
  return e instanceof SignedOut || e?.name === 'AbortError';
}

/** Shows an error in place of (or inside) a container, unless it is an abort or a sign-out. */
function showError(container, e, prefix = '') {
  if (isQuiet(e)) return;
  console.warn(e);
  container.replaceChildren(h('p', { class: 'error', role: 'alert', testid: 'error' }, prefix, e.message ?? String(e)));
}

// ---------------------------------------------------------------------------------------------------------------
// Sign-in

const $ = id => document.getElementById(id);

function showLogin(notice) {
  disposeView();
  $('main').hidden = true;
  $('main').replaceChildren();
  $('nav').hidden = true;
  $('who').hidden = true;
  $('sign-out').hidden = true;
  $('login').hidden = false;
  $('login-error').hidden = true;
  $('login-notice').hidden = !notice;
  $('login-notice').textContent = notice ?? '';
  $('token').value = '';
  $('token').focus();
}

function showApp(me) {
  $('login').hidden = true;
  $('main').hidden = false;
  $('nav').hidden = false;
  $('sign-out').hidden = false;
  showWho(me);
}

function showWho(me) {
  const name = me?.name ?? me?.user ?? me?.subject ?? me?.tokenId;
  const role = me?.role ?? (Array.isArray(me?.roles) ? me.roles.join(', ') : null);
  $('who').hidden = !name;
  $('who').textContent = name ? `Signed in as ${name}${role ? ` (${role})` : ''}` : '';
}

function signOut(notice) {
  token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  showLogin(notice);
}

async function signIn(event) {
  event.preventDefault();
  const error = $('login-error');
  const button = $('login-form').querySelector('button');
  const candidate = $('token').value.trim();
  error.hidden = true;
  if (!candidate) {
    error.textContent = 'Enter your access token.';
    error.hidden = false;
    return;
  }
  button.disabled = true;
  try {
    const res = await fetch(apiUrl('auth/me'), { headers: { Authorization: `Bearer ${candidate}`, Accept: 'application/json' }, cache: 'no-store' });
    if (res.status === 401) {
      error.textContent = 'That token is not valid';
      error.hidden = false;
      $('token').select();
      return;
    }
    if (!res.ok) {
      error.textContent = `Could not sign in: ${await errorMessage(res)}`;
      error.hidden = false;
      return;
    }
    const me = await res.json().catch(() => null);
    token = candidate;
    sessionStorage.setItem(TOKEN_KEY, token);
    $('token').value = '';
    showApp(me);
    if (!location.hash || location.hash === '#' || location.hash === '#/') location.hash = '#/lots';
    else route();
  } catch (e) {
    error.textContent = `Could not sign in: the server cannot be reached (${e.message}).`;
    error.hidden = false;
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Routing: each view gets a context whose fetches are aborted and blob URLs revoked when another view opens.

function disposeView() {
  if (!view) return;
  view.alive = false;
  view.controller.abort();
  for (const timer of view.timers) clearTimeout(timer);
  for (const url of view.urls) URL.revokeObjectURL(url);
  view = null;
}

function newView() {
  disposeView();
  const controller = new AbortController();
  view = { controller, signal: controller.signal, urls: new Set(), timers: new Set(), alive: true };
  view.later = (fn, ms) => {
    const ctx = view;
    const id = setTimeout(() => { ctx.timers.delete(id); if (ctx.alive) fn(); }, ms);
    ctx.timers.add(id);
  };
  return view;
}

const ROUTES = [
  [/^#\/models\/?$/, () => viewModels()],
  [/^#\/lots\/?(?:\?(.*))?$/, m => viewLots(new URLSearchParams(m[1] ?? ''))],
  [/^#\/lots\/([^/?]+)\/review\/?$/, m => viewReview(decodeURIComponent(m[1]))],
  [/^#\/lots\/([^/?]+)\/?$/, m => viewLot(decodeURIComponent(m[1]))],
  [/^#\/runs\/([^/?]+)\/?$/, m => viewRun(decodeURIComponent(m[1]))],
];

function route() {
  if (!token) { showLogin(); return; }
  const hash = location.hash || '#/lots';
  for (const [pattern, render] of ROUTES) {
    const m = hash.match(pattern);
    if (m) {
      const ctx = newView();
      const main = $('main');
      main.replaceChildren();
      render(m).catch(e => { if (ctx.alive) showError(main, e); });
      return;
    }
  }
  if (hash === '#' || hash === '#/' || hash === '') { location.hash = '#/lots'; return; }
  newView();
  $('main').replaceChildren(h('h1', null, 'Not found'),
    h('p', null, `There is no page at ${hash}. `, h('a', { href: '#/lots' }, 'Go to the lots.')));
}

function setTitle(text) {
  document.title = `${text} · ParticleGrid QA`;
}

// ---------------------------------------------------------------------------------------------------------------
// #/models (admins): the registered model sets, which is active, and each set's gate report

const GATE_TEXT = {
  Accept: 'Accepted', RefuseWorse: 'Refused: worse than the active set',
  RefuseTooFewReviewed: 'Refused: too few reviewed particles', FirstSet: 'First set: not gated',
};

function fmtShare(v) {
  return v == null ? '–' : v.toFixed(3);
}

/** One set's gate report: the decision, the figures of both sets side by side, and an override if there was one. */
function gateReport(report) {
  const c = report.comparison;
  const rows = [['Accuracy', s => s?.accuracy], ['Unknown rate', s => s?.unknownRate], ['ECE (15 bins)', s => s?.ece],
    ...Object.keys(c.support ?? {}).map(k => [`Recall ${k} (${c.support[k]} reviewed)`, s => s?.recall?.[k]])];
  const worse = new Set((c.worse ?? []).map(w => w.metric));
  return h('div', { class: 'gate', testid: 'gate-report' },
    h('p', { testid: 'gate-decision' }, h('strong', null, GATE_TEXT[c.decision] ?? c.decision), ` · ${fmtDate(report.evaluatedUtc)}`),
    h('p', { testid: 'gate-summary' }, c.summary),
    c.active ? h('table', null,
      h('thead', null, h('tr', null, h('th', null, 'On the reviewed particles'), h('th', null, `Active ${c.activeVersion}`), h('th', null, `New ${c.candidateVersion}`))),
      h('tbody', null, ...rows.map(([label, get]) => {
        const metric = label === 'Accuracy' ? 'accuracy' : label === 'Unknown rate' ? 'unknown rate' : label.startsWith('ECE') ? 'ECE'
          : `recall ${label.split(' ')[1]}`;
        return h('tr', { class: worse.has(metric) ? 'worse' : null }, h('th', { scope: 'row' }, label),
          h('td', null, fmtShare(get(c.active))), h('td', null, fmtShare(get(c.candidate))));
      }))) : null,
    report.override ? h('p', { class: 'notice', testid: 'gate-override' },
      `Overridden by ${report.override.admin} on ${fmtDate(report.override.atUtc)}: ${report.override.reason}`) : null);
}

async function viewModels() {
  const ctx = view;
  const main = $('main');
  setTitle('Model sets');
  const models = await api('models');
  if (!ctx.alive) return;
  main.replaceChildren(h('h1', null, 'Model sets'),
    h('p', null, 'A new set goes live only when the gate finds it no worse than the active set on the reviewed particles; an admin may override it with a reason, which is kept.'));
  for (const set of models.sets) {
    const status = h('p', { role: 'status' });
    const section = h('section', { class: 'model-set', testid: 'model-set', 'data-version': set.version },
      h('h2', null, set.version, set.version === models.active ? ' (active)' : ''),
      h('p', null, `${set.members.map(m => m.name).join(', ')} · classes ${set.classes.join(', ')}`));
    const report = h('div');
    section.append(report, status);
    main.append(section);
    const show = r => report.replaceChildren(r ? gateReport(r) : h('p', null, 'Not yet through the gate.'));
    api(`models/${enc(set.version)}/gate`).then(show).catch(e => e.status === 404 ? show(null) : showError(report, e));
    if (set.version === models.active) continue;
    const act = async (body, button) => {
      button.disabled = true;
      status.textContent = 'Evaluating beside the active set…';
      try {
        await api(`models/${enc(set.version)}/activate`, { method: 'POST', body });
        route();
      } catch (e) {
        status.textContent = e.message;
        api(`models/${enc(set.version)}/gate`).then(show).catch(() => {});
      } finally { button.disabled = false; }
    };
    const reason = h('input', { type: 'text', name: 'reason', placeholder: 'Reason (kept in the audit)', testid: 'override-reason' });
    const activate = h('button', { type: 'button', class: 'primary', testid: 'activate' }, 'Activate');
    const override = h('button', { type: 'button', testid: 'override' }, 'Override the gate and activate');
    activate.addEventListener('click', () => act(undefined, activate));
    override.addEventListener('click', () => reason.value.trim()
      ? act({ override: true, reason: reason.value.trim() }, override)
      : (status.textContent = 'An override needs a reason.'));
    section.append(h('p', null, activate, ' ', reason, ' ', override));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// #/lots?product=&verdict=&from=&to=&limit=&pages=
//
// The API pages the list by cursor (each page's `next`), most recent run first. The hash keeps the cursors of the pages
// before this one (`pages`, dot-separated: a cursor is base64url, which has no dot), so Previous drops the last one,
// Next adds this page's, and a reload or a shared link opens the same page.

async function viewLots(params) {
  const ctx = view;
  const main = $('main');
  setTitle('Lots');
  const field = (name, label, input) => h('label', null, label, input);
  const product = h('input', { type: 'search', name: 'product', value: params.get('product') ?? '', testid: 'lots-filter-product' });
  const verdict = h('select', { name: 'verdict', testid: 'lots-filter-verdict' },
    [['', 'Any'], ['Pass', 'Pass'], ['Fail', 'Fail'], ['NotAssessable', 'Not assessable']].map(([v, t]) =>
      h('option', { value: v, selected: (params.get('verdict') ?? '') === v }, t)));
  const from = h('input', { type: 'date', name: 'from', value: params.get('from') ?? '', testid: 'lots-filter-from' });
  const to = h('input', { type: 'date', name: 'to', value: params.get('to') ?? '', testid: 'lots-filter-to' });
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter lots', testid: 'lots-filters' },
    field('product', 'Product', product),
    field('verdict', 'Verdict', verdict),
    field('from', 'Runs from', from),
    field('to', 'Runs to', to),
    h('button', { type: 'submit', class: 'primary', testid: 'lots-filter-apply' }, 'Filter'),
    h('a', { href: '#/lots', testid: 'lots-filter-clear' }, 'Clear'));
  form.addEventListener('submit', e => {
    e.preventDefault();
    const q = new URLSearchParams();
    if (product.value.trim()) q.set('product', product.value.trim());
    if (verdict.value) q.set('verdict', verdict.value);
    if (from.value) q.set('from', from.value);
    if (to.value) q.set('to', to.value);
    if (params.get('limit')) q.set('limit', params.get('limit'));
    // A new filter starts at its first page.
    const target = `#/lots${q.toString() ? `?${q}` : ''}`;
    if (location.hash === target) route(); else location.hash = target;
  });
  const results = h('div', { class: 'table-wrap', 'aria-live': 'polite' }, h('p', { class: 'loading' }, 'Loading lots…'));
  main.append(h('h1', null, 'Lots'), form, results);

  const q = new URLSearchParams();
  for (const key of ['product', 'verdict', 'from', 'to']) if (params.get(key)) q.set(key, params.get(key));
  const filtered = q.toString() !== '';
  const limit = Number(params.get('limit')) >= 1 && Number(params.get('limit')) <= 500 ? Math.floor(Number(params.get('limit'))) : LOT_PAGE;
  const trail = (params.get('pages') ?? '').split('.').filter(Boolean);
  /** The hash of this list with another trail of cursors (same filter and page size). */
  const pageHash = cursors => {
    const p = new URLSearchParams(q);
    if (params.get('limit')) p.set('limit', params.get('limit'));
    if (cursors.length) p.set('pages', cursors.join('.'));
    return `#/lots${p.toString() ? `?${p}` : ''}`;
  };
  const request = new URLSearchParams(q);
  request.set('limit', String(limit));
  if (trail.length) request.set('after', trail[trail.length - 1]);
  let page;
  try {
    page = await api(`lots?${request}`);
  } catch (e) {
    showError(results, e, 'The lots could not be loaded: ');
    return;
  }
  if (!ctx.alive) return;
  const lots = page?.lots ?? [];
  if (lots.length === 0 && trail.length === 0) {
    results.replaceChildren(h('p', { class: 'notice', testid: 'lots-empty' },
      filtered ? 'No lot matches these filters.' : 'No lots yet: start a run or ingest an instrument export.'));
    return;
  }
  const first = trail.length * limit + 1;
  const last = trail.length * limit + lots.length;
  const shown = lots.length === 0 ? `no lots on this page of ${fmtNum(page.total)}` : `${fmtNum(first)}–${fmtNum(last)} of ${plural(page.total, 'lot')}`;
  const previous = h('a', { class: 'button', href: pageHash(trail.slice(0, -1)), testid: 'lots-prev' }, '← Previous');
  const next = h('a', { class: 'button', href: page.next ? pageHash([...trail, page.next]) : '#', testid: 'lots-next' }, 'Next →');
  // A link that leads nowhere is shown but cannot be followed (and says so to assistive technology).
  for (const [link, enabled] of [[previous, trail.length > 0], [next, !!page.next]]) {
    if (enabled) continue;
    link.setAttribute('aria-disabled', 'true');
    link.classList.add('disabled');
    link.addEventListener('click', e => e.preventDefault());
  }
  // data-page-hash says which page this is (a test waits for it: the page before stays on screen until this one replaces it).
  const pager = h('nav', { class: 'pager', 'aria-label': 'Lot pages', testid: 'lots-pager', 'data-page-hash': pageHash(trail) },
    previous, ' ', h('span', { testid: 'lots-shown' }, `Page ${trail.length + 1}: ${shown}${filtered ? ' matching the filters' : ''}`), ' ', next);
  results.replaceChildren(h('p', { testid: 'lots-total', 'data-total': String(page.total) }, `${plural(page.total, 'lot')}${filtered ? ' match these filters' : ''}`),
    h('table', { testid: 'lots-table' },
    h('caption', null, shown),
    h('thead', null, h('tr', null,
      h('th', { scope: 'col' }, 'Lot'), h('th', { scope: 'col' }, 'Product'),
      h('th', { scope: 'col', class: 'num' }, 'Container'), h('th', { scope: 'col', class: 'num' }, 'Runs'),
      h('th', { scope: 'col', class: 'num' }, 'Particles'), h('th', { scope: 'col' }, 'First run'),
      h('th', { scope: 'col' }, 'Last run'), h('th', { scope: 'col' }, 'Verdict'))),
    h('tbody', null, lots.map(lot => h('tr', { testid: 'lot-row', 'data-lot': lot.lot },
      h('th', { scope: 'row' }, h('a', { href: `#/lots/${enc(lot.lot)}`, testid: 'lot-link', 'data-lot': lot.lot }, lot.lot)),
      h('td', null, lot.product ?? '—'),
      h('td', { class: 'num' }, lot.containerVolumeMl == null ? '—' : `${fmtNum(lot.containerVolumeMl)} mL`),
      h('td', { class: 'num' }, fmtNum(lot.runs)),
      h('td', { class: 'num' }, fmtNum(lot.particles)),
      h('td', null, fmtDate(lot.firstRunUtc)),
      h('td', null, fmtDate(lot.lastRunUtc)),
      h('td', null, h('span', {
        class: `badge ${verdictClass(lot.verdict)}`, testid: 'lot-verdict', 'data-verdict': lot.verdict,
        title: (lot.verdictReasons ?? []).join('\n') || null,
      }, verdictText(lot.verdict))))))),
    pager);
}

// ---------------------------------------------------------------------------------------------------------------
// #/lots/{lot}

async function viewLot(lot) {
  const ctx = view;
  const main = $('main');
  setTitle(`Lot ${lot}`);
  main.append(h('p', null, h('a', { href: '#/lots' }, '← All lots')), h('h1', null, `Lot ${lot}`),
    h('div', null, h('p', { class: 'loading' }, 'Loading the lot profile…')));
  let profile;
  try {
    profile = await api(`lots/${enc(lot)}`);
  } catch (e) {
    showError(main.lastChild, e, 'The lot could not be loaded: ');
    return;
  }
  if (!ctx.alive) return;
  main.lastChild.remove();

  const reviewed = profile.reviewed ?? 0;
  main.append(
    h('dl', { class: 'facts', testid: 'lot-summary' },
      fact('Runs', fmtNum(profile.runs)),
      fact('Analysed volume', fmtMl(profile.analysedVolumeMl)),
      fact('Container', fmtMl(profile.containerVolumeMl)),
      fact('Particle images', fmtNum(profile.particles)),
      fact('Uncertain (to review)', fmtNum(profile.uncertain), 'lot-uncertain'),
      fact('Reviewed', fmtNum(reviewed), 'lot-reviewed'),
      fact('Failed', fmtNum(profile.failed)),
      fact('Without size', fmtNum(profile.withoutSize))),
    shiftAlarm(profile.domainShiftAlarm, (profile.domainShift ?? []).filter(c => c.alarm).map(c => `run ${c.runId}: ${c.detail}`)),
    verdictBox(profile.verdict),
    h('p', { class: 'actions' },
      h('a', { class: 'button', href: `#/lots/${enc(lot)}/review`, testid: 'review-link' },
        `Review uncertain particles (${fmtNum(profile.uncertain ?? 0)})`),
      h('span', { class: 'muted', testid: 'lot-reviewed-text' }, `reviewed: ${fmtNum(reviewed)}`)));

  main.append(h('h2', { id: 'profile-heading' }, 'Particles per type and size class'));
  main.append(profileSection(profile));

  const runsBox = h('div', { class: 'table-wrap' }, h('p', { class: 'loading' }, 'Loading runs…'));
  const traceBox = h('div', { class: 'table-wrap' }, h('p', { class: 'loading' }, 'Loading traceability…'));
  main.append(h('h2', null, 'Runs'), runsBox, h('h2', null, 'Traceability: where the particles come from'), traceBox,
    h('h2', null, 'Exports'), exportsSection(lot),
    h('h2', { id: 'gallery-heading' }, 'Gallery'), gallerySection(ctx, lot, profile));

  api(`lots/${enc(lot)}/runs`).then(runs => { if (ctx.alive) runsBox.replaceChildren(runsTable(runs)); })
    .catch(e => showError(runsBox, e, 'The runs could not be loaded: '));
  api(`lots/${enc(lot)}/traceability`).then(rows => { if (ctx.alive) traceBox.replaceChildren(traceabilityTable(rows)); })
    .catch(e => showError(traceBox, e, 'Traceability could not be loaded: '));
}

/** The domain-shift alarm: above everything else, as it says the results themselves are not validated. */
function shiftAlarm(message, details) {
  if (!message) return null;
  return h('section', { class: 'shift-alarm', role: 'alert', testid: 'domain-shift-alarm', 'aria-label': 'Domain-shift alarm' },
    h('p', { class: 'outcome' }, `Domain shift: ${message}`),
    details.length ? h('ul', null, details.map(d => h('li', { testid: 'domain-shift-detail' }, d))) : null);
}

function fact(label, value, testid) {
  return h('div', testid ? { testid } : null, h('dt', null, label), h('dd', null, value));
}

function verdictBox(verdict) {
  const outcome = verdict?.outcome ?? 'NotAssessable';
  const reasons = verdict?.reasons ?? [];
  const checks = verdict?.checks ?? [];
  return h('section', { class: `verdict ${verdictClass(outcome)}`, testid: 'verdict', 'data-outcome': outcome, 'aria-label': 'Verdict' },
    h('p', { class: 'outcome', testid: 'verdict-outcome' }, verdictText(outcome)),
    verdict?.basis ? h('p', { class: 'basis', testid: 'verdict-basis' }, verdict.basis) : null,
    checks.length ? h('ul', { testid: 'verdict-checks' }, checks.map(c => h('li', {
      class: c.passes ? 'check-pass' : 'check-fail', testid: 'verdict-check', 'data-size': c.sizeMicrometres,
    }, `≥ ${fmtNum(c.sizeMicrometres)} µm: ${fmtNum(c.measured)} ${c.unit}`,
    c.worstCase !== c.measured ? ` sized, up to ${fmtNum(c.worstCase)} with every unsized particle at ≥ 25 µm` : '',
    ` (limit ${fmtNum(c.limit)}) — `,
    !c.passes ? 'LIMIT EXCEEDED' : c.worstCasePasses ? 'within the limit' : 'worst case over the limit'))) : null,
    reasons.length ? h('ul', { class: 'reasons', testid: 'verdict-reasons' },
      reasons.map(r => h('li', { testid: 'verdict-reason' }, r))) : null,
    h('p', { class: 'muted' }, 'Judged on every particle except air bubbles, as light obscuration would count them.'));
}

// ----- profile chart and table

const METRICS = {
  perContainer: { label: 'per container', axis: 'particles per container' },
  perMl: { label: 'per mL', axis: 'particles per mL' },
  count: { label: 'count', axis: 'particles counted (analysed volume)' },
};

function availableMetrics(profile) {
  const sample = profile.particlesExcludingBubbles?.sizeClasses ?? profile.types?.[0]?.sizeClasses ?? [];
  const has = key => sample.length > 0 && sample.every(c => c[key] != null);
  const list = [];
  if (profile.containerVolumeMl != null && has('perContainer')) list.push('perContainer');
  if (profile.analysedVolumeMl != null && has('perMl')) list.push('perMl');
  list.push('count');
  return list;
}

/** A check's limit in the chart's unit, or null when the volumes needed to convert it are unknown. */
function limitIn(check, metric, profile) {
  const container = profile.containerVolumeMl;
  const perMl = check.unit === 'per mL' ? check.limit : container ? check.limit / container : null;
  if (perMl == null) return null;
  if (metric === 'perMl') return perMl;
  if (metric === 'perContainer') return container ? perMl * container : null;
  return profile.analysedVolumeMl ? perMl * profile.analysedVolumeMl : null;
}

function valueOf(sizeClass, metric) {
  const v = sizeClass?.[metric];
  return v == null ? 0 : v;
}

function profileSection(profile) {
  const metrics = availableMetrics(profile);
  let metric = metrics[0];
  let fit = false;
  const chartBox = h('div');
  const tableBox = h('div', { class: 'table-wrap' });
  const unitSelect = h('select', { testid: 'chart-unit', id: 'chart-unit' },
    metrics.map(m => h('option', { value: m }, METRICS[m].label)));
  const fitBox = h('input', { type: 'checkbox', id: 'chart-fit', testid: 'chart-fit' });
  const draw = () => {
    chartBox.replaceChildren(profileChart(profile, metric, fit));
    tableBox.replaceChildren(profileTable(profile, metric));
  };
  unitSelect.addEventListener('change', () => { metric = unitSelect.value; draw(); });
  fitBox.addEventListener('change', () => { fit = fitBox.checked; draw(); });
  draw();
  return h('div', null,
    h('div', { class: 'chart-wrap' },
      h('div', { class: 'chart-controls' },
        h('label', { for: 'chart-unit' }, 'Numbers '), unitSelect,
        h('label', null, fitBox, ' Scale to the particles (limits above the scale are marked at the top)')),
      chartBox),
    tableBox);
}

function niceStep(max, ticks = 5) {
  const raw = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10) * mag;
}

function profileChart(profile, metric, fit) {
  const types = profile.types ?? [];
  const edges = (profile.particlesExcludingBubbles?.sizeClasses ?? types[0]?.sizeClasses ?? []).map(c => c.atOrAboveMicrometres);
  // Particles at the bottom of each bar, the bubble artefacts on top (hatched): the limit applies to what lies below them.
  const stackOrder = [...types.filter(t => t.countsAsParticle !== false), ...types.filter(t => t.countsAsParticle === false)];
  const colourIndex = new Map(types.map((t, i) => [t.type, i]));
  const unit = METRICS[metric];

  const totals = edges.map((edge, i) => stackOrder.reduce((sum, t) => sum + valueOf(t.sizeClasses?.[i], metric), 0));
  const counted = edges.map((edge, i) => stackOrder.filter(t => t.countsAsParticle !== false).reduce((sum, t) => sum + valueOf(t.sizeClasses?.[i], metric), 0));
  const limits = (profile.verdict?.checks ?? []).map(c => ({ check: c, value: limitIn(c, metric, profile) })).filter(l => l.value != null);
  const dataMax = Math.max(0, ...totals);
  const limitMax = Math.max(0, ...limits.map(l => l.value));
  let top = fit ? dataMax : Math.max(dataMax, limitMax);
  if (top <= 0) top = 1;
  const step = niceStep(top);
  top = Math.ceil((top * 1.05) / step) * step;

  const W = 760, H = 360, L = 76, R = 20, T = 34, B = 52;
  const plotW = W - L - R, plotH = H - T - B;
  const slot = plotW / Math.max(1, edges.length);
  const barW = Math.min(80, slot * 0.5);
  const y = v => T + plotH - (Math.min(v, top) / top) * plotH;
  const titleId = 'chart-title', descId = 'chart-desc';

  const svg = s('svg', {
    viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': `${titleId} ${descId}`, testid: 'profile-chart',
    'data-unit': metric, class: 'profile-chart',
  },
  s('title', { id: titleId }, `Lot ${profile.lot}: particles ${unit.label} at or above each size, stacked by type`),
  s('desc', { id: descId }, `${edges.map((e, i) => `at or above ${e} µm: ${fmtNum(counted[i])} particles and ${fmtNum(totals[i] - counted[i])} bubbles`).join('; ')}. `
    + limits.map(l => `Limit at ${l.check.sizeMicrometres} µm: ${fmtNum(l.value)} ${unit.label}.`).join(' ')
    + ' Air bubbles are artefacts and are not counted.'),
  s('defs', null,
    s('pattern', { id: 'hatch-bubble', patternUnits: 'userSpaceOnUse', width: 6, height: 6, patternTransform: 'rotate(45)' },
      s('rect', { width: 6, height: 6, fill: '#e3eef8' }),
      s('line', { x1: 0, y1: 0, x2: 0, y2: 6, stroke: '#7fa7cf', 'stroke-width': 2 }))));

  // grid and y axis
  for (let v = 0; v <= top + step / 2; v += step) {
    svg.append(s('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: '#e1e5ea' }),
      s('text', { x: L - 8, y: y(v) + 4, 'text-anchor': 'end', 'font-size': 12, fill: '#5a6473' }, fmtNum(v)));
  }
  svg.append(s('text', { x: 16, y: T + plotH / 2, transform: `rotate(-90 16 ${T + plotH / 2})`, 'text-anchor': 'middle', 'font-size': 13, fill: '#1d2430' }, unit.axis));
  svg.append(s('line', { x1: L, x2: L, y1: T, y2: T + plotH, stroke: '#5a6473' }),
    s('line', { x1: L, x2: W - R, y1: T + plotH, y2: T + plotH, stroke: '#5a6473' }));

  // bars
  edges.forEach((edge, i) => {
    const cx = L + slot * i + slot / 2;
    let base = 0;
    for (const t of stackOrder) {
      const sc = t.sizeClasses?.[i];
      const v = valueOf(sc, metric);
      if (v <= 0) continue;
      const bubble = t.countsAsParticle === false;
      const y0 = y(base), y1 = y(base + v);
      base += v;
      if (y0 - y1 < 0.01) continue;
      svg.append(s('rect', {
        x: cx - barW / 2, y: y1, width: barW, height: Math.max(0.5, y0 - y1),
        fill: bubble ? 'url(#hatch-bubble)' : typeColour(t.type, colourIndex.get(t.type)),
        stroke: bubble ? '#7fa7cf' : '#ffffff', 'stroke-width': 0.8, 'fill-opacity': bubble ? 0.8 : 1,
        class: 'bar', testid: 'chart-bar', 'data-type': t.type, 'data-size': edge,
      }, s('title', null, `${typeName(t.type)}${bubble ? ' (artefact, not counted)' : ''}, ≥ ${edge} µm: ${fmtNum(v)} ${unit.label} (count ${fmtNum(sc?.count)})`)));
    }
    svg.append(s('text', { x: cx, y: T + plotH + 20, 'text-anchor': 'middle', 'font-size': 13, fill: '#1d2430' }, `≥ ${edge} µm`));
    if (totals[i] > 0) {
      const bubbles = totals[i] - counted[i];
      svg.append(s('text', { x: cx, y: Math.max(T - 4, y(totals[i]) - 5), 'text-anchor': 'middle', 'font-size': 11, fill: '#5a6473', testid: 'chart-total' },
        `${fmtNum(counted[i])}${bubbles > 0 ? ` (+${fmtNum(bubbles)} bubbles)` : ''}`));
    }
  });
  svg.append(s('text', { x: L + plotW / 2, y: H - 10, 'text-anchor': 'middle', 'font-size': 12, fill: '#5a6473' }, 'size class (equivalent circular diameter)'));

  // limit lines, over the bar of the size class each applies to
  for (const { check, value } of limits) {
    const i = edges.findIndex(e => e === check.sizeMicrometres);
    const x1 = i >= 0 ? L + slot * i + slot * 0.05 : L;
    const x2 = i >= 0 ? L + slot * (i + 1) - slot * 0.05 : W - R;
    const off = value > top;
    const ly = off ? T : y(value);
    const converted = check.unit !== unit.label ? ` (${fmtNum(check.limit)} ${check.unit})` : '';
    const label = `limit ${fmtNum(value)}${converted}${off ? ' ↑' : ''}`;
    svg.append(s('g', { class: 'limit', testid: 'limit-line-group', 'data-size': check.sizeMicrometres },
      s('title', null, `Limit for particles ≥ ${fmtNum(check.sizeMicrometres)} µm: ${fmtNum(value)} ${unit.label}${converted}${off ? ' (above the scale)' : ''}`),
      s('line', { x1, x2, y1: ly, y2: ly, stroke: '#b3261e', 'stroke-width': 2.5, 'stroke-dasharray': off ? '2 3' : '7 4', testid: 'limit-line', 'data-size': check.sizeMicrometres, 'data-limit': value }),
      s('text', { x: (x1 + x2) / 2, y: ly - 6, 'text-anchor': 'middle', 'font-size': 11.5, 'font-weight': 600, fill: '#b3261e', stroke: '#ffffff', 'stroke-width': 3, 'paint-order': 'stroke', testid: 'limit-label' }, label)));
  }

  const legend = h('ul', { class: 'legend', testid: 'chart-legend', 'aria-label': 'Legend' },
    stackOrder.map(t => {
      const bubble = t.countsAsParticle === false;
      return h('li', null,
        s('svg', { viewBox: '0 0 16 16', 'aria-hidden': 'true' },
          s('rect', { width: 16, height: 16, fill: bubble ? 'url(#hatch-bubble)' : typeColour(t.type, colourIndex.get(t.type)), stroke: bubble ? '#7fa7cf' : 'none' })),
        `${typeName(t.type)}${bubble ? ' (artefact, not counted)' : ''}`);
    }),
    limits.length ? h('li', null,
      s('svg', { viewBox: '0 0 16 16', 'aria-hidden': 'true' }, s('line', { x1: 0, x2: 16, y1: 8, y2: 8, stroke: '#b3261e', 'stroke-width': 2.5, 'stroke-dasharray': '5 3' })),
      `compendial limit (${profile.verdict?.basis ?? 'ChP <0903> / USP <788>'})`) : null);
  return h('div', null, svg, legend);
}

function profileTable(profile, metric) {
  const types = profile.types ?? [];
  const edges = (profile.particlesExcludingBubbles?.sizeClasses ?? types[0]?.sizeClasses ?? []).map(c => c.atOrAboveMicrometres);
  const unit = METRICS[metric];
  const row = (t, label, cls) => h('tr', { class: cls, 'data-type': t.type },
    h('th', { scope: 'row' }, label),
    h('td', { class: 'num' }, fmtNum(t.count)),
    h('td', { class: 'num' }, fmtNum(t.uncertain)),
    edges.map((e, i) => {
      const sc = t.sizeClasses?.[i];
      return h('td', { class: 'num', title: sc ? `count ${fmtNum(sc.count)}; per mL ${fmtNum(sc.perMl)}; per container ${fmtNum(sc.perContainer)}` : null },
        fmtNum(sc?.[metric]));
    }));
  return h('table', { testid: 'profile-table' },
    h('caption', null, `Particles at or above each size, ${unit.label}; "count" and "uncertain" are particle images of every size.`),
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Type'), h('th', { scope: 'col', class: 'num' }, 'Count'),
      h('th', { scope: 'col', class: 'num' }, 'Uncertain'), edges.map(e => h('th', { scope: 'col', class: 'num' }, `≥ ${e} µm`)))),
    h('tbody', null,
      types.map(t => row(t, t.countsAsParticle === false ? `${typeName(t.type)} (artefact, not counted)` : typeName(t.type), t.countsAsParticle === false ? 'artefact' : null)),
      profile.particlesExcludingBubbles ? row(profile.particlesExcludingBubbles, 'all particles (bubbles excluded)', 'total') : null,
      profile.particlesExcludingBubblesAndSiliconeOil ? row(profile.particlesExcludingBubblesAndSiliconeOil, 'of which not silicone oil', 'total') : null));
}

// ----- runs, traceability, exports

function runsTable(runs) {
  if (!Array.isArray(runs) || runs.length === 0) return h('p', { class: 'notice' }, 'No runs.');
  return h('table', { testid: 'runs-table' },
    h('thead', null, h('tr', null, ['Run', 'Instrument', 'State', 'Analysed volume', 'Recorded', 'Classified', 'Uncertain', 'Failed', 'Progress']
      .map((t, i) => h('th', { scope: 'col', class: i >= 3 ? 'num' : null }, t)))),
    h('tbody', null, runs.map(r => h('tr', null,
      h('th', { scope: 'row' }, h('a', { href: `#/runs/${enc(r.runId)}`, testid: 'run-link', 'data-run': r.runId }, r.runId)),
      h('td', null, r.descriptor?.instrumentId ?? '—'),
      h('td', null, h('span', { class: `badge ${String(r.state).toLowerCase()}` }, r.state),
        r.domainShiftAlarm ? [' ', h('span', { class: 'badge notassessable', testid: 'run-shift-badge', title: r.domainShiftAlarm }, 'domain shift')] : null),
      h('td', { class: 'num' }, fmtMl(r.descriptor?.analysedVolumeMl)),
      h('td', { class: 'num' }, r.descriptor?.expectedParticles != null ? `${fmtNum(r.recorded)} / ${fmtNum(r.descriptor.expectedParticles)}` : fmtNum(r.recorded)),
      h('td', { class: 'num' }, fmtNum(r.classified)),
      h('td', { class: 'num' }, fmtNum(r.uncertain)),
      h('td', { class: 'num' }, fmtNum(r.failed)),
      h('td', { class: 'num' }, fmtPct(r.progress))))));
}

function traceabilityTable(rows) {
  if (!Array.isArray(rows) || rows.length === 0) return h('p', { class: 'notice' }, 'No classified particles yet.');
  return h('table', { testid: 'traceability-table' },
    h('caption', null, 'Types ranked by how many particles they account for, with the category (USP <1787>) and likely sources.'),
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Type'), h('th', { scope: 'col', class: 'num' }, 'Count'),
      h('th', { scope: 'col', class: 'num' }, 'Share'), h('th', { scope: 'col' }, 'Category'), h('th', { scope: 'col' }, 'Likely sources'))),
    h('tbody', null, rows.map(r => h('tr', null,
      h('th', { scope: 'row' }, typeName(r.type)),
      h('td', { class: 'num' }, fmtNum(r.count)),
      h('td', { class: 'num' }, fmtPct(r.share)),
      h('td', null, r.category ?? '—'),
      h('td', null, (r.sources ?? []).join('; ') || '—')))));
}

const EXPORTS = [
  ['export.csv', 'Profile (CSV)'],
  ['export.json', 'Profile (JSON)'],
  ['particles.csv', 'Particles (CSV)'],
  ['particles.json', 'Particles (JSON)'],
  ['training-set.zip', 'Training set (ZIP of labelled images)'],
];

function exportsSection(lot) {
  const status = h('p', { class: 'muted', role: 'status', testid: 'export-status' });
  return h('div', null,
    h('p', { class: 'actions' }, EXPORTS.map(([file, label]) => {
      const button = h('button', { type: 'button', testid: `export-${file.replace('.', '-')}`, 'data-file': file }, label);
      button.addEventListener('click', () => download(`lots/${enc(lot)}/${file}`, `${lot}-${file}`, button, status));
      return button;
    })),
    status);
}

function fileNameFrom(res, fallback) {
  const cd = res.headers.get('Content-Disposition') ?? '';
  const star = cd.match(/filename\*\s*=\s*UTF-8''([^;]+)/i);
  if (star) { try { return decodeURIComponent(star[1].replace(/"/g, '')); } catch { /* ignore */ } }
  const plain = cd.match(/filename\s*=\s*"?([^";]+)"?/i);
  return plain ? plain[1] : fallback;
}

async function download(path, fallbackName, button, status) {
  button.disabled = true;
  status.textContent = `Preparing ${fallbackName}…`;
  try {
    const res = await api(path, { as: 'response', signal: null });
    const blob = await res.blob();
    const url = URL.createObjectURL(blob);
    const name = fileNameFrom(res, fallbackName);
    const a = h('a', { href: url, download: name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    const size = blob.size < 1024 ? `${blob.size} bytes` : blob.size < 1048576 ? `${fmtNum(blob.size / 1024)} KiB` : `${fmtNum(blob.size / 1048576)} MiB`;
    status.textContent = `Downloaded ${name} (${size}).`;
  } catch (e) {
    if (!isQuiet(e)) status.textContent = `${fallbackName} could not be downloaded: ${e.message}`;
  } finally {
    button.disabled = false;
  }
}

// ----- gallery

function gallerySection(ctx, lot, profile) {
  const types = (profile.types ?? []).filter(t => t.count > 0);
  if (types.length === 0) return h('p', { class: 'notice' }, 'No particle images yet.');
  const load = limiter(THUMBNAIL_CONCURRENCY);
  let zoom = 2;
  let selected = null;
  let tabController = null;
  let current = types.find(t => t.countsAsParticle !== false) ?? types[0];

  const collage = h('div', { class: 'collage', testid: 'gallery', 'aria-label': 'Particle images', role: 'group' });
  const info = h('p', { class: 'muted', testid: 'gallery-info', 'aria-live': 'polite' });
  const more = h('button', { type: 'button', testid: 'gallery-more', hidden: true }, 'Show more');
  const detail = h('aside', { class: 'detail card', testid: 'particle-detail', 'aria-live': 'polite', 'aria-label': 'Particle detail' },
    h('p', { class: 'muted' }, 'Select a particle to see its full image, each network\'s vote and where it came from.'));
  const zoomSelect = h('select', { id: 'gallery-zoom', testid: 'gallery-zoom' },
    [1, 2, 3, 4].map(z => h('option', { value: z, selected: z === zoom }, `${z}×`)));
  zoomSelect.addEventListener('change', () => {
    zoom = Number(zoomSelect.value);
    for (const img of collage.querySelectorAll('img')) if (img.naturalWidth) img.style.width = `${img.naturalWidth * zoom}px`;
  });
  const tabs = h('div', { class: 'gallery-tabs', role: 'group', 'aria-label': 'Particle type' },
    types.map(t => {
      const b = h('button', { type: 'button', testid: 'gallery-tab', 'data-type': t.type, 'aria-pressed': String(t === current) },
        `${typeName(t.type)} (${fmtNum(t.count)})`);
      b.addEventListener('click', () => {
        current = t;
        for (const other of tabs.children) other.setAttribute('aria-pressed', String(other === b));
        open();
      });
      return b;
    }));

  let offset = 0;
  let total = 0;

  async function page() {
    const signal = tabController.signal;
    more.hidden = true;
    info.textContent = 'Loading…';
    let data;
    try {
      data = await api(`lots/${enc(lot)}/particles?type=${enc(current.type)}&limit=${GALLERY_PAGE}&offset=${offset}`, { signal });
    } catch (e) {
      if (!isQuiet(e)) info.textContent = `The particles could not be loaded: ${e.message}`;
      return;
    }
    if (signal.aborted) return;
    total = data.total ?? 0;
    const particles = data.particles ?? [];
    offset += particles.length;
    for (const p of particles) collage.append(galleryItem(p, signal));
    info.textContent = `${typeName(current.type)}: showing ${fmtNum(offset)} of ${fmtNum(total)}; uncertain ones have an orange frame and a “?”.`;
    more.hidden = offset >= total || particles.length === 0;
  }

  function galleryItem(p, signal) {
    const uncertain = !!p.isUncertain && !p.reviewedLabel;
    const alt = `${typeName(p.type)} particle ${p.particleId} of run ${p.runId}${p.ecdMicrometres != null ? `, ${fmtNum(p.ecdMicrometres)} µm` : ''}${uncertain ? ', uncertain' : ''}${p.reviewedLabel ? ', reviewed' : ''}`;
    const img = h('img', { alt, decoding: 'async' });
    img.addEventListener('load', () => { img.style.width = `${img.naturalWidth * zoom}px`; });
    const button = h('button', {
      type: 'button', class: `item${uncertain ? ' uncertain' : ''}${p.reviewedLabel ? ' reviewed' : ''}`,
      testid: 'gallery-item', 'data-particle-id': p.particleId, 'data-run-id': p.runId, 'data-uncertain': String(uncertain),
      'aria-pressed': 'false', title: alt,
    }, h('span', { class: 'placeholder' }));
    button.addEventListener('click', () => {
      if (selected) selected.setAttribute('aria-pressed', 'false');
      selected = button;
      button.setAttribute('aria-pressed', 'true');
      showDetail(ctx, detail, p);
    });
    load(async () => {
      if (signal.aborted || !ctx.alive) return;
      try {
        const url = await imageUrl(`runs/${enc(p.runId)}/particles/${enc(p.particleId)}/thumbnail`, ctx);
        if (!url || signal.aborted) return;
        img.src = url;
        button.replaceChildren(img);
      } catch (e) {
        if (isQuiet(e)) return;
        button.classList.add('broken');
        button.title = `${alt}: the image could not be loaded (${e.message})`;
      }
    });
    return button;
  }

  function open() {
    tabController?.abort();
    tabController = new AbortController();
    ctx.signal.addEventListener('abort', () => tabController.abort(), { once: true });
    offset = 0;
    collage.replaceChildren();
    page();
  }
  more.addEventListener('click', () => page());
  open();

  return h('div', null,
    h('p', null, h('a', { href: `#/lots/${enc(lot)}/review`, testid: 'review-link-gallery' }, `Review uncertain particles (${fmtNum(profile.uncertain ?? 0)})`)),
    tabs,
    h('p', { class: 'chart-controls' }, h('label', { for: 'gallery-zoom' }, 'Zoom'), zoomSelect),
    h('div', { class: 'gallery-layout' }, h('div', null, collage, info, more), detail));
}

/** Each network's vote and probabilities: a row per network, or (transposed, for narrow panels) a column per network. */
function votesTable(p, { transpose = false } = {}) {
  const classes = p.classes?.length ? p.classes : FALLBACK_CLASSES;
  const votes = p.votes ?? [];
  if (votes.length === 0) return h('p', { class: 'muted' }, 'No network votes recorded.');
  const pct = v => (v == null ? '—' : `${(v * 100).toFixed(1)} %`);
  if (transpose) {
    const best = votes.map(v => (v.probabilities ?? []).indexOf(Math.max(...(v.probabilities ?? []))));
    return h('div', { class: 'table-wrap' }, h('table', { class: 'votes', testid: 'votes-table' },
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Class'),
        votes.map(v => h('th', { scope: 'col', class: 'num', title: v.version ? `${v.model} version ${v.version}` : v.model }, String(v.model).replace(/_/g, ' '))))),
      h('tbody', null,
        classes.map((c, i) => h('tr', null, h('th', { scope: 'row' }, typeName(c)),
          votes.map((v, k) => h('td', { class: `num${best[k] === i ? ' best' : ''}` }, pct(v.probabilities?.[i]))))),
        h('tr', { class: 'total' }, h('th', { scope: 'row' }, 'vote'), votes.map(v => h('td', { class: 'num' }, typeName(v.vote)))))));
  }
  return h('div', { class: 'table-wrap' }, h('table', { class: 'votes', testid: 'votes-table' },
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Network'), h('th', { scope: 'col' }, 'Vote'),
      classes.map(c => h('th', { scope: 'col', class: 'num' }, typeName(c))))),
    h('tbody', null, votes.map(v => {
      const probs = v.probabilities ?? [];
      const best = probs.indexOf(Math.max(...probs));
      return h('tr', null,
        h('th', { scope: 'row', title: v.version ? `version ${v.version}` : null }, v.model,
          v.version ? h('div', { class: 'hash muted' }, String(v.version).slice(0, 12)) : null),
        h('td', null, typeName(v.vote)),
        classes.map((c, i) => h('td', { class: `num${i === best ? ' best' : ''}` }, pct(probs[i]))));
    }))));
}

async function showDetail(ctx, panel, p) {
  const img = h('img', { class: 'particle-image', alt: `Full image of ${typeName(p.type)} particle ${p.particleId}`, testid: 'detail-image' });
  img.addEventListener('load', () => { img.style.width = `${Math.min(img.naturalWidth * 3, 320)}px`; });
  const row = (label, value) => (value == null || value === '' ? null : [h('dt', null, label), h('dd', null, value)]);
  panel.replaceChildren(
    h('h3', null, `${typeName(p.type)} · particle ${p.particleId}`),
    img,
    h('dl', null,
      row('Run', h('a', { href: `#/runs/${enc(p.runId)}` }, p.runId)),
      row('Instrument', p.instrumentId),
      row('Classified as', p.classifiedType ? `${typeName(p.classifiedType)} (${fmtPct(p.probability)})` : 'not classified'),
      row('Reviewed as', p.reviewedLabel ? typeName(p.reviewedLabel) : null),
      row('Uncertain', p.isUncertain ? (p.uncertainReason ?? 'yes') : 'no'),
      row('ECD', p.ecdMicrometres != null ? `${fmtNum(p.ecdMicrometres)} µm${p.sizeSource ? ` (${p.sizeSource})` : ''}` : 'unknown'),
      row('Model set', p.modelSetVersion ? h('span', { class: 'hash', testid: 'detail-model-set' }, p.modelSetVersion) : null),
      row('Failure', p.failure)),
    h('h3', null, 'Votes'),
    votesTable(p, { transpose: true }),
    p.votes?.length ? h('p', { class: 'muted' }, 'Versions: ', p.votes.map(v => `${v.model} ${v.version ?? '?'}`).join('; ')) : null);
  try {
    const url = await imageUrl(`runs/${enc(p.runId)}/particles/${enc(p.particleId)}/image`, ctx);
    if (url) img.src = url;
  } catch (e) {
    if (!isQuiet(e)) img.replaceWith(h('p', { class: 'error' }, `The image could not be loaded: ${e.message}`));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// #/lots/{lot}/review

async function viewReview(lot) {
  const ctx = view;
  const main = $('main');
  setTitle(`Review ${lot}`);
  let reviewedHere = 0;
  let total = 0;
  let shown = 0;
  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite', testid: 'review-status' });
  const remaining = h('p', { class: 'muted', testid: 'review-remaining' }, 'Loading the review queue…');
  const list = h('ul', { class: 'review-list', testid: 'review-queue', 'aria-label': 'Particles to review' });
  const more = h('button', { type: 'button', testid: 'review-more', hidden: true }, 'Show more');
  const auditBox = h('div', { class: 'table-wrap' }, h('p', { class: 'loading' }, 'Loading the audit trail…'));
  const thumbs = limiter(THUMBNAIL_CONCURRENCY);
  let seq = 0;

  main.append(
    h('p', null, h('a', { href: `#/lots/${enc(lot)}`, testid: 'back-to-lot' }, `← Lot ${lot}`)),
    h('h1', null, `Review uncertain particles · lot ${lot}`),
    h('p', null, 'These particles were classified below the confidence threshold, or the networks disagreed. ',
      'Confirm the label or relabel the particle; a reason is required and goes into the audit trail with your name.'),
    status, remaining, list, more,
    h('h2', null, 'Audit trail'), auditBox);

  const updateRemaining = () => {
    remaining.textContent = total === 0 ? 'Nothing left to review in this lot.' : `${plural(total, 'particle')} waiting for review.`;
    more.hidden = shown >= total;
  };

  async function loadPage() {
    more.hidden = true;
    let data;
    try {
      data = await api(`lots/${enc(lot)}/review?limit=${REVIEW_PAGE}&offset=${shown}`);
    } catch (e) {
      showError(remaining, e, 'The review queue could not be loaded: ');
      return;
    }
    if (!ctx.alive) return;
    total = data.total ?? 0;
    for (const p of data.particles ?? []) {
      if (list.querySelector(`[data-key="${CSS.escape(`${p.runId}/${p.particleId}`)}"]`)) continue;
      list.append(reviewItem(p));
      shown++;
    }
    updateRemaining();
  }

  async function loadAudit() {
    try {
      const entries = await api(`lots/${enc(lot)}/audit`);
      if (ctx.alive) auditBox.replaceChildren(auditTable(entries));
    } catch (e) {
      showError(auditBox, e, 'The audit trail could not be loaded: ');
    }
  }

  function reviewItem(p) {
    const classes = p.classes?.length ? p.classes : FALLBACK_CLASSES;
    const current = p.type ?? p.classifiedType;
    const key = `${p.runId}/${p.particleId}`;
    const ids = `review-${seq++}`;
    const thumb = h('div', { class: 'thumb' }, h('span', { class: 'placeholder' }));
    const select = h('select', { id: `${ids}-label`, testid: 'review-label' },
      classes.map(c => h('option', { value: c, selected: c === current }, typeName(c))));
    const reason = h('input', { type: 'text', id: `${ids}-reason`, testid: 'review-reason', required: true, maxlength: 500, 'aria-describedby': `${ids}-error` });
    const error = h('p', { class: 'error', id: `${ids}-error`, role: 'alert', testid: 'review-error', hidden: true });
    const confirm = h('button', { type: 'button', class: 'primary', testid: 'review-confirm' }, `Confirm ${typeName(current)}`);
    const relabel = h('button', { type: 'button', testid: 'review-relabel' }, 'Relabel');
    const syncRelabel = () => {
      relabel.disabled = select.value === current;
      relabel.textContent = select.value === current ? 'Relabel' : `Relabel as ${typeName(select.value)}`;
    };
    select.addEventListener('change', syncRelabel);
    syncRelabel();

    const item = h('li', { class: 'review-item card', testid: 'review-item', 'data-key': key, 'data-run-id': p.runId, 'data-particle-id': p.particleId },
      thumb,
      h('div', null,
        h('h3', null, `Particle ${p.particleId} · run `, h('a', { href: `#/runs/${enc(p.runId)}` }, p.runId)),
        h('p', null, `Classified as ${typeName(current)} with ${fmtPct(p.probability)}`,
          p.uncertainReason ? ` — ${p.uncertainReason}` : '',
          p.ecdMicrometres != null ? `; ECD ${fmtNum(p.ecdMicrometres)} µm${p.sizeSource ? ` (${p.sizeSource})` : ''}` : ''),
        votesTable(p),
        h('form', { 'aria-label': `Review particle ${p.particleId}`, onsubmit: e => e.preventDefault() },
          h('label', { for: select.id }, 'Label', select),
          h('label', { for: reason.id }, 'Reason (required)', reason),
          confirm, relabel),
        error));

    async function submit(label) {
      error.hidden = true;
      const why = reason.value.trim();
      if (!why) {
        error.textContent = 'Give a reason: it goes into the audit trail.';
        error.hidden = false;
        reason.focus();
        return;
      }
      confirm.disabled = relabel.disabled = true;
      try {
        await api(`runs/${enc(p.runId)}/particles/${enc(p.particleId)}/review`, { method: 'POST', body: { label, reason: why } });
        if (!ctx.alive) return;
        item.remove();
        reviewedHere++;
        shown--;
        total = Math.max(0, total - 1);
        status.textContent = `Reviewed ${reviewedHere}: particle ${p.particleId} ${label === current ? `confirmed as ${typeName(label)}` : `relabelled ${typeName(current)} → ${typeName(label)}`}.`;
        updateRemaining();
        loadAudit();
        if (list.children.length === 0 && total > 0) loadPage();
        else (list.querySelector('[data-testid="review-reason"]') ?? status).focus?.();
      } catch (e) {
        if (isQuiet(e)) return;
        error.textContent = e.message;
        error.hidden = false;
        confirm.disabled = false;
        syncRelabel();
      }
    }
    confirm.addEventListener('click', () => submit(current));
    relabel.addEventListener('click', () => submit(select.value));
    reason.addEventListener('keydown', e => { if (e.key === 'Enter') e.preventDefault(); });

    thumbs(async () => {
      if (!ctx.alive) return;
      try {
        const url = await imageUrl(`runs/${enc(p.runId)}/particles/${enc(p.particleId)}/thumbnail`, ctx);
        if (!url) return;
        const img = h('img', { src: url, alt: `${typeName(current)} particle ${p.particleId}`, class: 'particle-image', testid: 'review-thumbnail' });
        img.addEventListener('load', () => { img.style.width = `${Math.max(64, img.naturalWidth * 2)}px`; });
        thumb.replaceChildren(img);
      } catch (e) {
        if (!isQuiet(e)) thumb.replaceChildren(h('span', { class: 'muted' }, 'no image'));
      }
    });
    return item;
  }

  more.addEventListener('click', () => loadPage());
  await Promise.all([loadPage(), loadAudit()]);
}

function auditTable(entries) {
  if (!Array.isArray(entries) || entries.length === 0) {
    return h('p', { class: 'notice', testid: 'audit-empty' }, 'No reviews yet.');
  }
  return h('table', { testid: 'audit-table' },
    h('caption', null, 'Every review of this lot, in order; each entry is chained to the one before by its hash (read only).'),
    h('thead', null, h('tr', null, ['#', 'At', 'Reviewer', 'Run', 'Particle', 'Previous label', 'Label', 'Reason', 'Hash']
      .map(t => h('th', { scope: 'col' }, t)))),
    h('tbody', null, entries.map(e => h('tr', { testid: 'audit-row', 'data-particle-id': e.particleId },
      h('td', { class: 'num' }, fmtNum(e.sequence)),
      h('td', null, fmtDate(e.atUtc)),
      h('td', null, e.reviewer ?? '—'),
      h('td', null, h('a', { href: `#/runs/${enc(e.runId)}` }, e.runId)),
      h('td', null, e.particleId),
      h('td', null, typeName(e.previousLabel)),
      h('td', null, typeName(e.label)),
      h('td', { testid: 'audit-reason' }, e.reason ?? ''),
      h('td', { class: 'hash', title: e.hash ?? '' }, String(e.hash ?? '').slice(0, 12))))));
}

// ---------------------------------------------------------------------------------------------------------------
// #/runs/{run}

async function viewRun(runId) {
  const ctx = view;
  const main = $('main');
  setTitle(`Run ${runId}`);
  const header = h('div');
  const progress = h('progress', { testid: 'run-progress', max: 1, 'aria-labelledby': 'run-progress-label' });
  const progressText = h('span', { id: 'run-progress-label', testid: 'run-progress-text' }, 'Loading…');
  const counts = h('dl', { class: 'facts', testid: 'run-counts' });
  const typesBox = h('div', { class: 'table-wrap' });
  const pollNote = h('p', { class: 'muted', testid: 'run-poll', 'aria-live': 'off' });
  const shiftBox = h('div', { testid: 'run-shift' });
  main.append(header, shiftBox, h('div', { class: 'progress-wrap' }, progress, progressText), counts, pollNote,
    h('h2', null, 'Particles per type'), typesBox);

  let typeNames = null;
  let typesUnavailable = false;
  let ticks = 0;
  let lastRecorded = -1;
  let unchangedSince = Date.now();

  async function typeCounts() {
    if (typesUnavailable) return;
    try {
      const counted = await Promise.all(typeNames.map(async t => {
        const page = await api(`runs/${enc(runId)}/particles?type=${enc(t)}&limit=0`);
        return [t, page.total ?? 0];
      }));
      if (!ctx.alive) return;
      typesBox.replaceChildren(h('table', { testid: 'run-types', class: 'narrow' },
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Type'), h('th', { scope: 'col', class: 'num' }, 'Particles'))),
        h('tbody', null, counted.map(([t, n]) => h('tr', null, h('th', { scope: 'row' }, typeName(t)), h('td', { class: 'num' }, fmtNum(n)))))));
    } catch (e) {
      if (isQuiet(e)) return;
      typesUnavailable = true;
      typesBox.replaceChildren(h('p', { class: 'muted' }, `Counts per type are not available: ${e.message}`));
    }
  }

  async function tick() {
    let st;
    try {
      st = await api(`runs/${enc(runId)}`);
    } catch (e) {
      if (isQuiet(e)) return;
      if (ticks === 0) { showError(main, e, 'The run could not be loaded: '); return; }
      pollNote.textContent = `Refresh failed (${e.message}); trying again in 3 s.`;
      ctx.later(tick, 3000);
      return;
    }
    if (!ctx.alive) return;
    const d = st.descriptor ?? {};
    const expected = d.expectedParticles;
    if (ticks === 0) {
      header.replaceChildren(
        h('p', null, d.lotId ? h('a', { href: `#/lots/${enc(d.lotId)}`, testid: 'run-lot-link' }, `← Lot ${d.lotId}`) : h('a', { href: '#/lots' }, '← All lots')),
        h('h1', null, `Run ${st.runId ?? runId} `, h('span', { class: `badge ${String(st.state).toLowerCase()}`, testid: 'run-state' }, st.state)),
        h('dl', { class: 'facts' },
          fact('Lot', d.lotId ?? '—'), fact('Instrument', d.instrumentId ?? '—'),
          fact('Analysed volume', fmtMl(d.analysedVolumeMl)),
          fact('Expected particles', expected == null ? 'not given' : fmtNum(expected))));
    } else {
      const badge = header.querySelector('[data-testid="run-state"]');
      if (badge) { badge.textContent = st.state; badge.className = `badge ${String(st.state).toLowerCase()}`; }
    }
    if (expected) {
      progress.max = expected;
      progress.value = Math.min(st.recorded ?? 0, expected);
      progressText.textContent = `${fmtNum(st.recorded)} of ${fmtNum(expected)} particles recorded (${fmtPct(st.progress ?? (st.recorded / expected))})`;
    } else if (st.state === 'Completed') {
      progress.max = 1;
      progress.value = 1;
      progressText.textContent = `${fmtNum(st.recorded)} particles recorded (the run did not say how many to expect)`;
    } else {
      progress.removeAttribute('value'); // indeterminate
      progressText.textContent = `${fmtNum(st.recorded)} particles recorded so far (the run did not say how many to expect)`;
    }
    // Checked again on every refresh: a run's alarm can start as its particles arrive.
    shiftBox.replaceChildren(...[shiftAlarm(st.domainShiftAlarm, (st.domainShift ?? []).filter(c => c.alarm).map(c => c.detail))].filter(Boolean));
    counts.replaceChildren(fact('Recorded', fmtNum(st.recorded)), fact('Classified', fmtNum(st.classified)),
      fact('Uncertain', fmtNum(st.uncertain)), fact('Failed', fmtNum(st.failed)));

    if (typeNames == null) {
      typeNames = FALLBACK_CLASSES;
      if (d.lotId) {
        try {
          const profile = await api(`lots/${enc(d.lotId)}`);
          if (Array.isArray(profile?.types) && profile.types.length) typeNames = profile.types.map(t => t.type);
        } catch (e) { if (isQuiet(e)) return; }
      }
    }

    if (st.recorded !== lastRecorded) { lastRecorded = st.recorded; unchangedSince = Date.now(); }
    const incomplete = expected != null && st.recorded < expected;
    const stalledAfterCompletion = st.state === 'Completed' && Date.now() - unchangedSince > 30_000;
    const polling = (st.state === 'Open' || incomplete) && !stalledAfterCompletion;
    if (ticks % 5 === 0 || !polling) await typeCounts();
    ticks++;
    if (!ctx.alive) return;
    if (polling) {
      pollNote.textContent = 'Updating every second while the run is open.';
      ctx.later(tick, 1000);
    } else {
      pollNote.textContent = incomplete
        ? `The run is completed with ${fmtNum(st.recorded)} of ${fmtNum(expected)} expected particles.`
        : 'The run is complete.';
      pollNote.setAttribute('data-done', 'true');
    }
  }
  await tick();
}

// ---------------------------------------------------------------------------------------------------------------
// Start

function start() {
  $('login-form').addEventListener('submit', signIn);
  $('sign-out').addEventListener('click', e => {
    e.preventDefault();
    signOut('You have signed out.');
  });
  window.addEventListener('hashchange', () => { if (token) route(); });
  if (!token) { showLogin(); return; }
  showApp(null);
  route();
  // Who is signed in (and whether the stored token still works: a 401 returns to the login view).
  api('auth/me', { signal: null }).then(showWho).catch(() => { /* a 401 has signed out; others leave the name out */ });
}

start();
