// facegate web console: plain ES module, no framework, no build step. Every call goes to the /v1 API with the key
// the user signed in with (kept in sessionStorage, so it ends with the tab). See docs/console.md.

const KEY = 'facegate.key';
const PURPOSES = {
  access_control: 'Access control',
  identity_verification: 'Identity verification',
  payment: 'Payment',
  attendance: 'Attendance',
  watchlist: 'Watchlist',
  research_dataset: 'Research dataset',
  other: 'Other',
};
const ROLE_RANK = { device: 1, operator: 2, admin: 3 };

let me = null; // GET /v1/me of the signed-in key
let blobURLs = []; // revoked when the page changes
let cleanups = []; // run when the page changes: timers, open streams
const main = document.getElementById('main');

// ---- small DOM helpers (text only: nothing from the API is ever parsed as HTML) ----

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

let uid = 0;
function field(label, input, hint) {
  const id = input.id || `f${++uid}`;
  input.id = id;
  const err = h('div', { class: 'error', id: `${id}-err`, role: 'alert' });
  const ids = [`${id}-err`];
  let hintEl = null;
  if (hint) {
    hintEl = h('p', { class: 'hint', id: `${id}-hint` }, hint);
    ids.unshift(`${id}-hint`);
  }
  input.setAttribute('aria-describedby', ids.join(' '));
  return { el: h('div', { class: 'field' }, h('label', { for: id }, label), hintEl, input, err), input, err };
}

function showError(target, content) {
  // target: {err, input} from field(), or an element.
  const box = target.err || target;
  box.replaceChildren(...[].concat(content || []));
  if (target.input) target.input.setAttribute('aria-invalid', content ? 'true' : 'false');
}

function clearErrors(form) {
  for (const e of form.querySelectorAll('.error')) e.replaceChildren();
  for (const i of form.querySelectorAll('[aria-invalid]')) i.setAttribute('aria-invalid', 'false');
}

function announce(text) {
  const live = document.getElementById('live');
  live.textContent = '';
  setTimeout(() => { live.textContent = text; }, 50);
}

function fmtDate(s) {
  if (!s) return '';
  const d = new Date(s);
  return isNaN(d) ? s : d.toLocaleString();
}

function can(role) {
  return me && ROLE_RANK[me.role] >= ROLE_RANK[role];
}

// ---- the API ----

class APIError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `The server answered ${status}.`);
    this.status = status;
    this.code = e.code || 'http_' + status;
    this.details = e.details;
  }
}

async function api(method, path, { json, form, blob } = {}) {
  const key = sessionStorage.getItem(KEY);
  const headers = { Authorization: `Bearer ${key}` };
  let body;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (form) {
    body = form;
  }
  let res;
  try {
    res = await fetch(path, { method, headers, body, cache: 'no-store' });
  } catch (e) {
    throw new APIError(0, { error: { code: 'network', message: 'The server could not be reached. Check that facegate is running and try again.' } });
  }
  if (res.status === 401) {
    signOut('Your API key was not accepted (unknown, revoked or missing). Please sign in again.');
    throw new APIError(401, { error: { code: 'unauthorized', message: 'Signed out.' } });
  }
  if (!res.ok) {
    let b = null;
    try { b = await res.json(); } catch { /* not JSON */ }
    throw new APIError(res.status, b);
  }
  if (blob) return res;
  if (res.status === 204) return null;
  return res.json();
}

// Plain-words text for an API error, with the reasons of a quality-gate rejection as a list.
function explain(err) {
  if (!(err instanceof APIError)) return [h('p', {}, 'Something went wrong: ' + err.message)];
  const words = {
    forbidden: 'Your key’s role may not do this.',
    not_found: 'This no longer exists (it may have been erased).',
    conflict: 'This already exists.',
    consent_required: 'A consent record covering this gallery’s purpose is required before a face can be enrolled.',
    quality_rejected: 'The photo was not accepted by the quality check:',
    no_face: 'No face was found in the photo.',
    multiple_faces: 'The photo shows more than one face; use a photo of this person alone, or enrol the largest face.',
    possible_duplicate: 'This face matches someone already enrolled in this gallery.',
    too_large: 'The file is too large.',
    unsupported_media_type: 'This file type is not supported. Use a JPEG, PNG, GIF, WebP or BMP photo.',
    bad_image: 'The file could not be read as an image.',
    empty_image: 'The file is empty.',
    truncated_image: 'The image file is incomplete (truncated).',
    rate_limited: 'Too many requests in a short time. Wait a moment and try again.',
    timeout: 'The server is busy. Try again in a moment.',
    minor_on_watchlist: 'Minors may not be added to a watchlist.',
    audit_unavailable: 'The server cannot write its audit log right now, so it did nothing. Tell the administrator.',
    storage_full: 'The server’s disk is full, so nothing was saved. Tell the administrator.',
  };
  const out = [h('p', {}, words[err.code] || err.message)];
  const reasons = [];
  const d = err.details || {};
  for (const r of d.reasons || []) reasons.push(r);
  for (const img of d.images || []) {
    for (const r of (img.details && img.details.reasons) || img.reasons || []) reasons.push(r);
    if (!(img.details && img.details.reasons) && !img.reasons && img.message) reasons.push({ message: img.message });
  }
  if (reasons.length) out.push(h('ul', {}, reasons.map((r) => h('li', {}, sentence(r.message || r.code)))));
  else if (words[err.code] && err.message && err.code !== 'not_found') out.push(h('p', { class: 'note' }, 'Server says: ' + err.message));
  return out;
}

function sentence(s) {
  s = String(s || '');
  return s ? s[0].toUpperCase() + s.slice(1) : s;
}

// Fetches an image with the key and returns an object URL (revoked when the page changes).
async function imageURL(path) {
  const res = await api('GET', path, { blob: true });
  const url = URL.createObjectURL(await res.blob());
  blobURLs.push(url);
  return url;
}

// ---- routing (history API; the server answers every console path with index.html) ----

const routes = [
  [/^\/$/, () => go('/galleries', true)],
  [/^\/signin$/, viewSignIn],
  [/^\/galleries$/, viewGalleries],
  [/^\/galleries\/([^/]+)$/, viewGallery],
  [/^\/galleries\/([^/]+)\/enrol$/, viewEnrol],
  [/^\/galleries\/([^/]+)\/search$/, viewSearch],
  [/^\/galleries\/([^/]+)\/subjects\/([^/]+)$/, viewSubject],
  [/^\/streams$/, viewStreams],
  [/^\/streams\/([^/]+)\/edit$/, viewStreamEdit],
  [/^\/streams\/([^/]+)\/crowd$/, viewCrowd],
  [/^\/streams\/([^/]+)$/, viewLive],
  [/^\/alerts$/, viewAlerts],
  [/^\/audit$/, viewAudit],
  [/^\/settings$/, viewSettings],
];

function go(path, replace) {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  render();
}

let renderSeq = 0;
async function render(message) {
  const seq = ++renderSeq;
  for (const u of blobURLs) URL.revokeObjectURL(u);
  blobURLs = [];
  for (const c of cleanups) { try { c(); } catch { /* already stopped */ } }
  cleanups = [];
  const path = location.pathname.replace(/\/+$/, '') || '/';
  if (!sessionStorage.getItem(KEY) && path !== '/signin') {
    sessionStorage.setItem('facegate.next', path === '/' ? '/galleries' : path + location.search);
    history.replaceState(null, '', '/signin');
    return render(message);
  }
  if (sessionStorage.getItem(KEY) && !me && path !== '/signin') {
    try {
      me = await api('GET', '/v1/me');
    } catch (e) {
      if (e.status !== 401) {
        page('facegate', h('div', { class: 'error', role: 'alert' }, explain(e)));
      }
      return;
    }
  }
  updateHeader();
  for (const [re, view] of routes) {
    const m = path.match(re);
    if (m) {
      const args = m.slice(1).map(decodeURIComponent);
      try {
        await view(...args, message);
      } catch (e) {
        if (seq === renderSeq && !(e instanceof APIError && e.status === 401)) {
          page('Something went wrong', h('div', { class: 'error', role: 'alert' }, explain(e)),
            h('p', {}, h('a', { href: '/galleries' }, 'Back to galleries')));
        }
      }
      return;
    }
  }
  page('Page not found', h('p', {}, 'There is no console page at this address. '), h('a', { href: '/galleries' }, 'Go to galleries'));
}

// page replaces the main content, sets the title and moves focus to the heading for screen-reader users.
function page(title, ...content) {
  document.title = `${title} · facegate`;
  const h1 = h('h1', { tabindex: '-1' }, title);
  main.replaceChildren(...content.flat(Infinity).filter(Boolean).map((c) => (c === '$h1' ? h1 : c)));
  if (!main.contains(h1)) main.prepend(h1);
  h1.focus({ preventScroll: false });
  return h1;
}

function updateHeader() {
  const signedIn = !!me;
  document.getElementById('nav').hidden = !signedIn;
  document.getElementById('who').hidden = !signedIn;
  for (const a of document.querySelectorAll('#nav [data-role]')) a.hidden = !signedIn || !can(a.dataset.role);
  if (signedIn) {
    document.getElementById('who-text').replaceChildren('Signed in as ', h('strong', {}, me.name || me.key_id), ' ',
      h('span', { class: 'role', title: 'Your key’s role' }, me.role));
  }
}

function signOut(message) {
  sessionStorage.removeItem(KEY);
  me = null;
  updateHeader();
  history.replaceState(null, '', '/signin');
  render(message);
}

document.addEventListener('click', (e) => {
  const a = e.target.closest('a');
  if (!a || a.target || a.hasAttribute('download') || e.defaultPrevented || e.button !== 0 ||
      e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith('/v1/') || url.hash) return;
  e.preventDefault();
  go(url.pathname + url.search);
});
window.addEventListener('popstate', () => render());
document.getElementById('signout').addEventListener('click', () => signOut('You have signed out.'));

// ---- pages ----

function viewSignIn(message) {
  me = null;
  updateHeader();
  const key = field('API key', h('input', { type: 'password', name: 'key', autocomplete: 'off', spellcheck: 'false', required: true }),
    'Starts with fg_. It is kept in this browser tab only and forgotten when the tab closes.');
  const form = h('form', { class: 'panel', novalidate: true }, key.el, h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Sign in')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const v = key.input.value.trim();
    if (!v) return showError(key, 'Enter your API key.');
    try {
      const res = await fetch('/v1/me', { headers: { Authorization: `Bearer ${v}` }, cache: 'no-store' });
      if (res.status === 401) return showError(key, 'This key was not accepted: it is unknown or has been revoked.');
      if (!res.ok) {
        let b = null;
        try { b = await res.json(); } catch { /* not JSON */ }
        return showError(key, explain(new APIError(res.status, b)));
      }
      me = await res.json();
    } catch {
      return showError(key, 'The server could not be reached. Check that facegate is running.');
    }
    sessionStorage.setItem(KEY, v);
    const next = sessionStorage.getItem('facegate.next') || '/galleries';
    sessionStorage.removeItem('facegate.next');
    announce(`Signed in as ${me.name || me.key_id}, role ${me.role}.`);
    go(next.startsWith('/signin') ? '/galleries' : next, true);
  });
  const sec = h('section', { class: 'signin' }, '$h1',
    message ? h('p', { class: 'note', role: 'status' }, message) : null,
    h('p', {}, 'Sign in with a facegate API key. What you can do depends on its role: a device key can search, an operator key can also enrol and erase people, watch streams and review alerts, an admin key can also create galleries, manage streams and read the audit log.'),
    form);
  document.title = 'Sign in · facegate';
  const h1 = h('h1', { tabindex: '-1' }, 'Sign in');
  sec.replaceChild(h1, sec.firstChild);
  main.replaceChildren(sec);
  key.input.focus();
}

async function viewGalleries() {
  const list = (await api('GET', '/v1/galleries')).galleries || [];
  const rows = list.map((g) => h('tr', {},
    h('td', {}, h('a', { href: `/galleries/${encodeURIComponent(g.id)}` }, g.name)),
    h('td', {}, PURPOSES[g.purpose] || g.purpose),
    h('td', { class: 'num' }, g.subjects),
    h('td', { class: 'num hide-narrow' }, g.templates),
    h('td', { class: 'hide-narrow' }, g.description || '')));
  const table = list.length
    ? h('div', { class: 'table-wrap' }, h('table', {}, h('caption', { class: 'visually-hidden' }, 'Galleries with their number of people and faces'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Purpose'), h('th', { scope: 'col', class: 'num' }, 'People'),
        h('th', { scope: 'col', class: 'num hide-narrow' }, 'Faces'), h('th', { scope: 'col', class: 'hide-narrow' }, 'Description'))),
      h('tbody', {}, rows)))
    : h('p', { class: 'note' }, can('admin') ? 'There are no galleries yet. Create the first one below.' : 'There are no galleries yet. An admin has to create one.');
  page('Galleries', table, can('admin') ? createGalleryForm() : null);
}

function createGalleryForm() {
  const name = field('Name', h('input', { type: 'text', name: 'name', required: true, autocomplete: 'off' }), 'A short name, such as staff or visitors. It must be unique.');
  const purpose = field('Purpose', h('select', { name: 'purpose' }, Object.entries(PURPOSES).map(([v, t]) => h('option', { value: v }, t))),
    'What the faces are used for. People consent to purposes, and a watchlist needs a legal basis.');
  const legal = field('Legal basis (optional)', h('input', { type: 'text', name: 'legal_basis', autocomplete: 'off' }),
    'Required for a watchlist; a gallery with a legal basis can be made exempt from consent through the API.');
  const desc = field('Description (optional)', h('input', { type: 'text', name: 'description', autocomplete: 'off' }));
  const formErr = h('div', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'panel', novalidate: true }, name.el, purpose.el, legal.el, desc.el, formErr,
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Create gallery')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const body = { name: name.input.value.trim(), purpose: purpose.input.value };
    if (!body.name) return showError(name, 'Enter a name for the gallery.');
    if (desc.input.value.trim()) body.description = desc.input.value.trim();
    if (legal.input.value.trim()) body.legal_basis = legal.input.value.trim();
    try {
      const g = await api('POST', '/v1/galleries', { json: body });
      announce(`Gallery ${g.name} created.`);
      go(`/galleries/${encodeURIComponent(g.id)}`);
    } catch (err) {
      if (err.code === 'conflict') showError(name, 'A gallery with this name already exists. Choose another name.');
      else if (/legal/i.test(err.message)) showError(legal, explain(err));
      else if (/purpose/i.test(err.message)) showError(purpose, explain(err));
      else showError(formErr, explain(err));
    }
  });
  return [h('h2', {}, 'Create a gallery'), form];
}

function crumbs(...items) {
  return h('p', { class: 'crumbs' }, h('a', { href: '/galleries' }, 'Galleries'), items.map((it) => [' › ', it]));
}

function galleryLink(g) {
  return h('a', { href: `/galleries/${encodeURIComponent(g.id)}` }, g.name);
}

function galleryFacts(g) {
  return h('dl', { class: 'meta' },
    h('dt', {}, 'Purpose'), h('dd', {}, PURPOSES[g.purpose] || g.purpose),
    h('dt', {}, 'Consent'), h('dd', {}, g.consent_exempt ? `Not required (legal basis: ${g.legal_basis})` : 'Required before a face is enrolled'),
    h('dt', {}, 'People'), h('dd', {}, `${g.subjects} (${g.templates} ${g.templates === 1 ? 'face' : 'faces'})`),
    h('dt', {}, 'Match threshold'), h('dd', {}, Number(g.threshold).toFixed(3)),
    g.retention_days ? [h('dt', {}, 'Retention'), h('dd', {}, `${g.retention_days} days`)] : null);
}

async function viewGallery(gid) {
  const g = await api('GET', `/v1/galleries/${encodeURIComponent(gid)}`);
  const base = `/galleries/${encodeURIComponent(g.id)}`;
  const actions = h('div', { class: 'actions' },
    h('a', { class: 'button', href: `${base}/search` }, 'Search with a photo'),
    can('operator') ? h('a', { class: 'button secondary', href: `${base}/enrol` }, 'Enrol a person') : null);
  const h1 = page(`Gallery ${g.name}`, crumbs(g.name), '$h1', g.description ? h('p', {}, g.description) : null, galleryFacts(g), actions,
    isWatchlist(g) && can('operator') ? h('p', {}, h('a', { href: `/alerts?gallery=${encodeURIComponent(g.id)}` }, `Alerts of ${g.name}`),
      ' (the review queue also lists the entries past their review date)') : null);
  if (!can('operator')) {
    main.append(h('p', { class: 'note' }, 'A device key can search this gallery but not list or enrol people.'));
    return h1;
  }
  const params = new URLSearchParams(location.search);
  const ext = params.get('q') || '';
  const after = params.get('after') || '';
  const q = field('Find by name or external id', h('input', { type: 'search', name: 'q', value: ext, autocomplete: 'off' }),
    'Part of the name, or the exact id from your own records, such as an employee number.');
  const searchForm = h('form', { role: 'search', class: 'panel', novalidate: true }, q.el,
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Find'), ext ? h('a', { href: base }, 'Show everyone') : null));
  searchForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const v = q.input.value.trim();
    go(v ? `${base}?q=${encodeURIComponent(v)}` : base);
  });
  const qs = new URLSearchParams({ limit: '12' });
  if (ext) qs.set('q', ext);
  if (after) qs.set('after', after);
  let list;
  try {
    list = await api('GET', `/v1/galleries/${encodeURIComponent(g.id)}/subjects?${qs}`);
  } catch (err) {
    if (ext && err.code === 'not_found') list = { subjects: [] };
    else throw err;
  }
  const subjects = list.subjects || [];
  const rows = subjects.map((s) => {
    const img = h('img', { class: 'thumb', alt: '', width: 56, height: 56 });
    loadFirstThumb(g.id, s.id, img, s);
    return h('tr', {},
      h('td', { class: 'thumbcol' }, img),
      h('td', {}, h('a', { href: `${base}/subjects/${encodeURIComponent(s.id)}` }, s.display_name || s.external_id || s.id)),
      h('td', {}, s.external_id || '—'),
      h('td', { class: 'hide-narrow' }, fmtDate(s.created_at)));
  });
  const pager = h('div', { class: 'actions' },
    after ? h('a', { href: ext ? `${base}?q=${encodeURIComponent(ext)}` : base }, 'First page') : null,
    list.next ? h('a', { href: `${base}?${ext ? `q=${encodeURIComponent(ext)}&` : ''}after=${encodeURIComponent(list.next)}` }, 'Next page') : null);
  main.append(h('h2', {}, 'People'), searchForm,
    subjects.length
      ? h('div', { class: 'table-wrap' }, h('table', {}, h('caption', { class: 'visually-hidden' }, 'People enrolled in this gallery'),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col', class: 'thumbcol' }, h('span', { class: 'visually-hidden' }, 'Photo')), h('th', { scope: 'col' }, 'Name'),
          h('th', { scope: 'col' }, 'External id'), h('th', { scope: 'col', class: 'hide-narrow' }, 'Enrolled'))),
        h('tbody', {}, rows)))
      : h('p', { class: 'note' }, ext ? `Nobody whose name contains “${ext}” or whose external id is “${ext}” is enrolled here.` : 'Nobody is enrolled in this gallery yet.'),
    pager);
  return h1;
}

async function loadFirstThumb(gid, sid, img, s) {
  const who = s.display_name || s.external_id || 'this person';
  try {
    const faces = (await api('GET', `/v1/galleries/${encodeURIComponent(gid)}/subjects/${encodeURIComponent(sid)}/faces`)).faces || [];
    if (!faces.length) { img.alt = `No face enrolled for ${who}`; return; }
    img.src = await imageURL(`/v1/galleries/${encodeURIComponent(gid)}/subjects/${encodeURIComponent(sid)}/faces/${encodeURIComponent(faces[0].id)}/thumbnail`);
    img.alt = `Face of ${who}`;
  } catch {
    img.alt = `No thumbnail for ${who}`;
  }
}

// isWatchlist: a gallery whose subjects are watchlist entries (a reason and a review date each, never consent).
function isWatchlist(g) {
  return g.purpose === 'watchlist';
}

// dateInput turns a YYYY-MM-DD date input's value into an ISO time at noon local time (the same calendar day in
// every nearby time zone); toDateInput does the reverse for a stored time.
function fromDateInput(v) {
  return v ? new Date(v + 'T12:00:00').toISOString() : '';
}
function toDateInput(s) {
  if (!s) return '';
  const d = new Date(s);
  if (isNaN(d)) return '';
  return new Date(d - d.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
}

// duplicatesOf returns the other people a refused enrolment's face matches (409 possible_duplicate).
function duplicatesOf(err) {
  return (err && err.code === 'possible_duplicate' && err.details && err.details.duplicates) || [];
}

// hasMultipleFaces reports whether an enrolment was refused because the photo shows several faces (at the top
// level, or for one of the images of a subject created with several).
function hasMultipleFaces(err) {
  if (!(err instanceof APIError)) return false;
  if (err.code === 'multiple_faces') return true;
  const d = err.details || {};
  if ((d.reasons || []).some((r) => r.code === 'multiple_faces')) return true;
  return (d.images || []).some((i) => i.code === 'multiple_faces' || ((i.details && i.details.reasons) || i.reasons || []).some((r) => r.code === 'multiple_faces'));
}

// duplicateQuestion asks whether to enrol a face that already matches other people of the gallery; onYes resends.
function duplicateQuestion(g, dups, onYes, onNo) {
  const names = dups.map((d, i) => [i ? (i === dups.length - 1 ? ' and ' : ', ') : '',
    h('a', { href: `/galleries/${encodeURIComponent(g.id)}/subjects/${encodeURIComponent(d.subject_id)}`, target: '_blank', rel: 'noopener' },
      d.display_name || d.external_id || d.subject_id), ` (${Number(d.score).toFixed(2)})`]);
  const yes = h('button', { type: 'button', class: 'danger' }, 'Enrol anyway as a different person');
  const no = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
  const box = h('div', { class: 'confirm', role: 'group', 'aria-labelledby': 'dup-q' },
    h('p', { id: 'dup-q' }, h('strong', {}, 'This face matches ', names, '.'), ' Enrol anyway as a different person?'),
    h('p', { class: 'hint' }, 'It may be the same person enrolled twice, or a photo of someone else under this name. Check before going on; if it is the same person, add the photo to their page instead.'),
    h('div', { class: 'actions' }, yes, no));
  yes.addEventListener('click', () => { box.remove(); onYes(); });
  no.addEventListener('click', () => { box.remove(); onNo(); });
  setTimeout(() => no.focus(), 0);
  return box;
}

async function viewEnrol(gid) {
  const g = await api('GET', `/v1/galleries/${encodeURIComponent(gid)}`);
  const base = `/galleries/${encodeURIComponent(g.id)}`;
  if (!can('operator')) {
    page('Enrol a person', crumbs(galleryLink(g), 'Enrol'), '$h1', h('p', {}, 'Your key’s role (device) may not enrol people. Ask for an operator key.'));
    return;
  }
  const watchlist = isWatchlist(g);
  const needConsent = !g.consent_exempt;
  // 1a. A watchlist entry: why the person is searched for, and when the entry must be reviewed (extended or
  // erased). A watchlisted person does not consent, so no consent text or record is shown.
  const reason = field('Reason', h('textarea', { name: 'reason', rows: 2 }),
    'Why this person is on the watchlist, such as a case or order reference. Reviewers and the audit log see it.');
  const reviewAt = field('Review date', h('input', { type: 'date', name: 'review_at', min: toDateInput(new Date(Date.now() + 86400e3).toISOString()) }),
    'When the entry must be looked at again: extended with a new date, or erased. Entries past this date are listed in the review queue.');
  const watchSet = h('fieldset', { 'aria-describedby': 'watch-hint' }, h('legend', {}, '1. Watchlist entry'),
    h('p', { class: 'hint', id: 'watch-hint' }, `This gallery is a watchlist (legal basis: ${g.legal_basis || '—'}). People on it do not consent, so there is no consent record; every entry needs a reason and a review date. A match only ever raises an alert that a person reviews.`),
    reason.el, reviewAt.el);
  // 1b. Consent
  const givenBy = field('Who consents', h('input', { type: 'text', name: 'given_by', autocomplete: 'off' }),
    'The full name of the person (or their guardian) who gave consent.');
  const evidence = field('Evidence reference', h('input', { type: 'text', name: 'evidence', autocomplete: 'off' }),
    'Where the proof is kept, such as “signed form 2026-11-29/17”.');
  const purposeBoxes = Object.entries(PURPOSES).map(([v, t]) =>
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'purposes', value: v, checked: v === g.purpose }), t));
  const purposesErr = h('div', { class: 'error', id: 'purposes-err', role: 'alert' });
  const purposes = h('fieldset', { 'aria-describedby': 'purposes-hint purposes-err' }, h('legend', {}, 'Purposes consented to'),
    h('p', { class: 'hint', id: 'purposes-hint' }, `This gallery’s purpose is ${PURPOSES[g.purpose] || g.purpose}; it must be among them.`),
    purposeBoxes, purposesErr);
  const expires = field('Consent expires on (optional)', h('input', { type: 'date', name: 'expires_at' }));
  const consentErr = h('div', { class: 'error', role: 'alert' });
  // What the person agrees to, to read to them or show them before they consent. Whom to contact is the
  // organisation that runs this deployment: the gallery's description is free text about the gallery, not a
  // contact, so it is not used here.
  const terms = h('div', { class: 'panel', id: 'consent-terms' },
    h('p', {}, h('strong', {}, 'What the person agrees to: '),
      `their face is used for ${PURPOSES[g.purpose] || g.purpose} in the gallery “${g.name}”. `,
      'Only a face template and a small face thumbnail are kept, never the photo. ',
      g.retention_days ? `They are deleted automatically after ${g.retention_days} days, ` : 'They are kept until the person is erased ',
      'or as soon as the consent is withdrawn.'),
    h('p', {}, h('strong', {}, 'Who to contact: '),
      'the organisation that runs this facegate system (give the person its contact details with this text), to ask what is stored (an export), to withdraw consent or to be erased.'));
  const consentBody = [terms, givenBy.el, evidence.el, purposes, expires.el, consentErr];
  let consentSet = null;
  if (needConsent) {
    consentSet = h('fieldset', { 'aria-describedby': 'consent-terms' }, h('legend', {}, '1. Consent record'), ...consentBody);
  } else if (!watchlist) {
    // Exempt with a legal basis (a research dataset, say): a consent record stays possible, folded away.
    consentSet = h('details', { class: 'optional' }, h('summary', {}, `Consent is not required here (legal basis: ${g.legal_basis}). Record a consent anyway (optional)`),
      h('fieldset', { 'aria-describedby': 'consent-terms' }, h('legend', {}, '1. Consent record (optional)'), ...consentBody));
  }
  // 2. Person and photo (disabled until the consent record, or the watchlist entry, is filled in)
  const extId = field('External id', h('input', { type: 'text', name: 'external_id', autocomplete: 'off' }), 'Your own id for this person, such as an employee number. Optional, unique in the gallery.');
  const name = field('Display name', h('input', { type: 'text', name: 'display_name', autocomplete: 'off' }));
  const photo = field('Photo', h('input', { type: 'file', name: 'image', accept: 'image/*' }),
    'A recent, sharp photo of this person alone, facing the camera, eyes open. In a group photo you can enrol the largest face.');
  const preview = h('img', { class: 'thumb', alt: '', hidden: true });
  const gate = h('p', { class: 'hint', id: 'gate' }, watchlist ? 'Fill in the reason and the review date first.' : 'Fill in who consents and the evidence first.');
  const cam = webcamGuide();
  const personSet = h('fieldset', { 'aria-describedby': 'gate' }, h('legend', {}, '2. Person and photo'), gate, extId.el, name.el, photo.el, preview, cam.el);
  const formErr = h('div', { class: 'error', role: 'alert' });
  const question = h('div', {});
  const submit = h('button', { type: 'submit' }, 'Enrol');
  const form = h('form', { class: 'panel', novalidate: true }, watchlist ? watchSet : consentSet, personSet, formErr, question,
    h('div', { class: 'actions' }, submit, h('a', { href: base }, 'Cancel')));
  const consentFilled = () => givenBy.input.value.trim() && evidence.input.value.trim();
  const watchFilled = () => reason.input.value.trim() && reviewAt.input.value;
  const syncGate = () => {
    const open = watchlist ? watchFilled() : !needConsent || consentFilled();
    personSet.disabled = !open;
    gate.hidden = open;
  };
  form.addEventListener('input', syncGate);
  syncGate();
  // Options a refused enrolment may be resent with, after the user said so: take_largest (a group photo) and
  // allow_duplicate (the face matches someone else). Choosing another photo forgets them.
  let flags = {};
  photo.input.addEventListener('change', () => {
    showError(photo, null);
    question.replaceChildren();
    flags = {};
    const f = photo.input.files[0];
    if (f) {
      const u = URL.createObjectURL(f);
      blobURLs.push(u);
      preview.src = u;
      preview.alt = 'The chosen photo';
      preview.hidden = false;
    } else preview.hidden = true;
  });
  const resend = (more) => { Object.assign(flags, more); form.requestSubmit(submit); };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    question.replaceChildren();
    let bad = false;
    const anyConsent = !watchlist && (givenBy.input.value.trim() || evidence.input.value.trim());
    const chosen = purposeBoxes.map((l) => l.querySelector('input')).filter((i) => i.checked).map((i) => i.value);
    if (watchlist) {
      if (!reason.input.value.trim()) { showError(reason, 'Enter why this person is on the watchlist.'); bad = true; }
      if (!reviewAt.input.value) { showError(reviewAt, 'Choose the date by which this entry must be reviewed.'); bad = true; }
      else if (new Date(fromDateInput(reviewAt.input.value)) <= new Date()) { showError(reviewAt, 'The review date must be in the future.'); bad = true; }
    } else if (needConsent || anyConsent) {
      if (!givenBy.input.value.trim()) { showError(givenBy, 'Enter who gave consent.'); bad = true; }
      if (!evidence.input.value.trim()) { showError(evidence, 'Enter a reference to the evidence of consent.'); bad = true; }
      if (!chosen.includes(g.purpose)) { showError(purposesErr, `Consent must cover this gallery’s purpose (${PURPOSES[g.purpose] || g.purpose}).`); bad = true; }
    }
    const views = cam.views();
    if (!photo.input.files.length && !views.length) { showError(photo, 'Choose a photo of the person, or take the photos with the webcam below.'); bad = true; }
    if (bad) {
      form.querySelector('[aria-invalid=true], .error:not(:empty)')?.scrollIntoView({ block: 'center' });
      (form.querySelector('[aria-invalid=true]') || submit).focus();
      return;
    }
    const fd = new FormData();
    if (extId.input.value.trim()) fd.append('external_id', extId.input.value.trim());
    if (name.input.value.trim()) fd.append('display_name', name.input.value.trim());
    if (watchlist) fd.append('watch', JSON.stringify({ reason: reason.input.value.trim(), review_at: fromDateInput(reviewAt.input.value) }));
    if (anyConsent) {
      const c = { given_by: givenBy.input.value.trim(), evidence: evidence.input.value.trim(), purposes: chosen };
      if (expires.input.value) c.expires_at = new Date(expires.input.value + 'T23:59:59').toISOString();
      fd.append('consent', JSON.stringify(c));
    }
    for (const [k, v] of Object.entries(flags)) if (v) fd.append(k, 'true');
    // With webcam views (and no file chosen): the subject is created with its consent and the first view (the
    // front one unless it was skipped), then every other view is added; a view the gate refuses is listed.
    const useCam = !photo.input.files.length;
    if (useCam) fd.append('image', views[0].blob, `${views[0].step}.jpg`);
    else fd.append('image', photo.input.files[0]);
    submit.disabled = true;
    submit.textContent = 'Enrolling…';
    try {
      const created = await api('POST', `/v1/galleries/${encodeURIComponent(g.id)}/subjects`, { form: fd });
      const subjectURL = `${base}/subjects/${encodeURIComponent(created.subject.id)}`;
      if (useCam && views.length > 1) {
        const refused = [];
        for (const v of views.slice(1)) {
          const f = new FormData();
          f.append('image', v.blob, `${v.step}.jpg`);
          if (flags.allow_duplicate) f.append('allow_duplicate', 'true');
          try {
            await api('POST', `/v1/galleries/${encodeURIComponent(g.id)}/subjects/${encodeURIComponent(created.subject.id)}/faces`, { form: f });
          } catch (err) {
            const dups = duplicatesOf(err);
            refused.push(h('li', {}, h('strong', {}, `${STEP_NAMES[v.step]} view: `),
              dups.length ? `it matches ${dups.map((d) => `${d.display_name || d.external_id || d.subject_id} (${Number(d.score).toFixed(2)})`).join(', ')}, not added.` : explain(err)));
          }
        }
        if (refused.length) {
          showError(formErr, [h('p', {}, `The person was enrolled with ${views.length - refused.length} of ${views.length} views. Not accepted:`),
            h('ul', {}, refused), h('p', {}, h('a', { href: subjectURL }, 'Open the person'))]);
          announce('Person enrolled; some views were not accepted.');
          submit.textContent = 'Enrolled';
          return;
        }
      }
      cam.stop();
      announce(useCam ? `Person enrolled with ${views.length} ${views.length === 1 ? 'view' : 'views'}.` : 'Person enrolled.');
      go(subjectURL);
      return;
    } catch (err) {
      const msg = explain(err);
      const dups = duplicatesOf(err);
      if (dups.length) {
        question.replaceChildren(duplicateQuestion(g, dups, () => resend({ allow_duplicate: true }), () => photo.input.focus()));
        announce(`This face matches ${dups.map((d) => d.display_name || d.external_id || d.subject_id).join(', ')}. Enrol anyway as a different person?`);
      } else if (hasMultipleFaces(err)) {
        const largest = h('button', { type: 'button', class: 'secondary' }, 'Use the largest face');
        largest.addEventListener('click', () => resend({ take_largest: true }));
        showError(photo, [...msg, h('p', { class: 'note' }, 'In a group photo, the most prominent face (the largest, nearest the centre) can be enrolled instead. Check the thumbnail on the person’s page afterwards.'),
          h('div', { class: 'actions' }, largest)]);
        largest.focus();
      } else {
        switch (err.code) {
          case 'quality_rejected': case 'no_face': case 'bad_image': case 'empty_image':
          case 'truncated_image': case 'too_large': case 'unsupported_media_type':
            showError(photo, msg); photo.input.focus(); break;
          case 'consent_required':
            showError(consentErr, msg); givenBy.input.focus(); break;
          case 'conflict':
            showError(extId, 'Someone with this external id is already enrolled in this gallery.'); extId.input.focus(); break;
          default:
            if (watchlist && /watch|reason|review/i.test(err.message)) { showError(/review/i.test(err.message) ? reviewAt : reason, msg); reason.input.focus(); }
            else if (!watchlist && /consent|given_by|evidence|purpose/i.test(err.message)) { showError(consentErr, msg); givenBy.input.focus(); } else showError(formErr, msg);
        }
      }
    }
    submit.disabled = false;
    submit.textContent = 'Enrol';
  });
  page('Enrol a person', crumbs(galleryLink(g), 'Enrol'), '$h1',
    h('p', {}, watchlist
      ? 'Record why the person is on the watchlist and when the entry must be reviewed, then add their photo. The photo goes through the quality check; only the face template and a small thumbnail are kept, never the photo.'
      : 'Record the person’s consent first, then add their photo. The photo goes through the quality check; only the face template and a small thumbnail are kept, never the photo.'),
    form);
}

// ---- crowd charts ----

const SVGNS = 'http://www.w3.org/2000/svg';
function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

// lineChart draws series [{name, cls, values, bars}] over the times xs (ms) as an SVG; the data table beside it
// carries the same numbers for screen readers, so the SVG itself is aria-hidden apart from its title.
function lineChart(title, xs, series, unit) {
  const W = 640, H = 220, L = 56, R = 28, T = 14, B = 34;
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const x0 = Math.min(...xs), x1 = Math.max(...xs);
  const px = (t) => L + (x1 === x0 ? (W - L - R) / 2 : ((t - x0) / (x1 - x0)) * (W - L - R));
  const py = (v) => H - B - (v / max) * (H - T - B);
  const parts = [svg('title', {}, title)];
  for (const f of [0, 0.5, 1]) {
    const v = max * f;
    parts.push(svg('line', { x1: L, x2: W - R, y1: py(v), y2: py(v), class: 'grid' }),
      svg('text', { x: L - 6, y: py(v) + 4, 'text-anchor': 'end', class: 'axis' }, Number.isInteger(v) ? v : v.toFixed(1)));
  }
  parts.push(svg('text', { x: L, y: H - 8, class: 'axis' }, new Date(x0).toLocaleTimeString()),
    svg('text', { x: W - R, y: H - 8, 'text-anchor': 'end', class: 'axis' }, new Date(x1).toLocaleTimeString()));
  const bw = Math.max(2, Math.min(16, (W - L - R) / Math.max(1, xs.length) / series.length - 1));
  series.forEach((s, si) => {
    if (s.bars) {
      s.values.forEach((v, i) => parts.push(svg('rect', { x: px(xs[i]) - (bw * series.length) / 2 + si * bw, y: py(v), width: bw, height: Math.max(0, H - B - py(v)), class: s.cls })));
    } else {
      parts.push(svg('polyline', { points: s.values.map((v, i) => `${px(xs[i]).toFixed(1)},${py(v).toFixed(1)}`).join(' '), class: s.cls, fill: 'none' }));
      if (xs.length === 1) parts.push(svg('circle', { cx: px(xs[0]), cy: py(s.values[0]), r: 3, class: s.cls }));
    }
  });
  const legend = h('p', { class: 'legend' }, series.map((s) => h('span', { class: `key ${s.cls}` }, s.name)), unit ? ` (${unit})` : '');
  return h('figure', { class: 'chart' }, h('figcaption', {}, title), svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `${title}: chart; the numbers are in the table below` }, parts), legend);
}

// barChart draws one bar per label as an SVG (the numbers are in the table beside it).
function barChart(title, labels, values, unit) {
  const W = 640, H = 220, L = 56, R = 16, T = 14, B = 34;
  const max = Math.max(1, ...values);
  const bw = (W - L - R) / Math.max(1, values.length);
  const py = (v) => H - B - (v / max) * (H - T - B);
  const parts = [svg('title', {}, title)];
  for (const f of [0, 0.5, 1]) {
    const v = max * f;
    parts.push(svg('line', { x1: L, x2: W - R, y1: py(v), y2: py(v), class: 'grid' }),
      svg('text', { x: L - 6, y: py(v) + 4, 'text-anchor': 'end', class: 'axis' }, Number.isInteger(v) ? v : v.toFixed(1)));
  }
  values.forEach((v, i) => parts.push(svg('rect', { x: L + i * bw + bw * 0.15, y: py(v), width: bw * 0.7, height: Math.max(0, H - B - py(v)), class: 's1' }),
    svg('text', { x: L + i * bw + bw / 2, y: H - 8, 'text-anchor': 'middle', class: 'axis' }, labels[i])));
  return h('figure', { class: 'chart' }, h('figcaption', {}, title), svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `${title}: chart; the numbers are in the table below` }, parts),
    unit ? h('p', { class: 'legend' }, unit) : '');
}

// dwellLabel names a dwell bucket: "<5 s", "5 s–30 s", "≥10 min" (short: "<5s", "5s–30s", "≥10m").
function dwellLabel(b, short) {
  const t = (sec) => (sec >= 60 ? `${sec / 60}${short ? 'm' : ' min'}` : `${sec}${short ? 's' : ' s'}`);
  if (!b.min_seconds) return `<${t(b.max_seconds)}`;
  if (!b.max_seconds) return `≥${t(b.min_seconds)}`;
  return `${t(b.min_seconds)}–${t(b.max_seconds)}`;
}

// crowdPlaces sums the period's zone counts, line crossings and dwell histogram: the dwell chart (null when
// the figures have no histogram) and the tables.
function crowdPlaces(c) {
  const zones = new Map(), lines = new Map();
  let dwell = null;
  for (const x of c) {
    for (const z of x.zones || []) {
      const a = zones.get(z.name) || { max: 0, mean: 0, n: 0, entries: 0 };
      a.max = Math.max(a.max, z.tracks_max); a.mean += z.tracks_mean; a.n++; a.entries += z.entries;
      zones.set(z.name, a);
    }
    for (const l of x.lines || []) {
      const a = lines.get(l.name) || { lr: 0, rl: 0 };
      a.lr += l.left_to_right; a.rl += l.right_to_left;
      lines.set(l.name, a);
    }
    if (x.dwell_histogram) {
      dwell = dwell || x.dwell_histogram.map((b) => ({ ...b, tracks: 0 }));
      x.dwell_histogram.forEach((b, i) => { if (dwell[i]) dwell[i].tracks += b.tracks; });
    }
  }
  const out = [];
  let chart = null;
  if (dwell) {
    chart = barChart('Dwell distribution', dwell.map((b) => dwellLabel(b, true)), dwell.map((b) => b.tracks), 'tracks that ended, by time in view, whole period');
    out.push(h('div', { class: 'table-wrap' }, h('table', {}, h('caption', {}, 'Dwell distribution'),
        h('thead', {}, h('tr', {}, dwell.map((b) => h('th', { scope: 'col' }, dwellLabel(b))))),
        h('tbody', {}, h('tr', {}, dwell.map((b) => h('td', { class: 'num' }, b.tracks)))))));
  }
  if (zones.size) {
    out.push(h('div', { class: 'table-wrap' }, h('table', {}, h('caption', {}, 'Zones over the period'),
      h('thead', {}, h('tr', {}, ['Zone', 'Tracks in it, most', 'Tracks in it, mean', 'Entries'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, [...zones].map(([n, a]) => h('tr', {}, h('th', { scope: 'row' }, n), h('td', { class: 'num' }, a.max),
        h('td', { class: 'num' }, (a.mean / a.n).toFixed(1)), h('td', { class: 'num' }, a.entries)))))));
  }
  if (lines.size) {
    out.push(h('div', { class: 'table-wrap' }, h('table', {}, h('caption', {}, 'Line crossings over the period'),
      h('thead', {}, h('tr', {}, ['Line', 'Left to right', 'Right to left'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, [...lines].map(([n, a]) => h('tr', {}, h('th', { scope: 'row' }, n), h('td', { class: 'num' }, a.lr), h('td', { class: 'num' }, a.rl)))))));
  }
  return { chart, tables: out };
}

async function viewCrowd(id) {
  if (!needRole('operator', 'Crowd', 'see video streams')) return;
  const s = await api('GET', `/v1/streams/${encodeURIComponent(id)}`);
  const periods = [[15, 'Last 15 minutes'], [60, 'Last hour'], [1440, 'Last 24 hours'], [10080, 'Last 7 days']];
  const sel = field('Period', h('select', {}, periods.map(([m, t]) => h('option', { value: m }, t))));
  const out = h('div', { 'aria-live': 'polite' });
  const load = async () => {
    const mins = Number(sel.input.value);
    const since = Date.now() - mins * 60000;
    // The stored crowd history, page by page (1,000 intervals a page, at most 20 pages).
    const evs = [];
    try {
      let from = new Date(since).toISOString();
      for (let page = 0; page < 20; page++) {
        const list = await api('GET', `/v1/streams/${encodeURIComponent(s.id)}/crowd?from=${encodeURIComponent(from)}&limit=1000`);
        evs.push(...(list.intervals || []).map((c) => ({ crowd: c })));
        if (!list.more || !evs.length) break;
        from = evs[evs.length - 1].crowd.to;
      }
    } catch (err) { out.replaceChildren(...explain(err)); return; }
    if (!evs.length) {
      out.replaceChildren(h('p', { class: 'note' }, `No crowd figures in this period. They are made at the end of each interval of the stream (crowd_interval_seconds, 60 s by default) and kept for the server's crowd retention (90 days by default).`));
      return;
    }
    const xs = evs.map((e) => new Date(e.crowd.to).getTime());
    const c = evs.map((e) => e.crowd);
    const places = crowdPlaces(c);
    const rows = c.map((x) => h('tr', {}, h('td', {}, `${new Date(x.from).toLocaleTimeString()} – ${new Date(x.to).toLocaleTimeString()}`),
      h('td', { class: 'num' }, Number(x.faces_mean).toFixed(1)), h('td', { class: 'num' }, x.faces_max),
      h('td', { class: 'num' }, x.new_tracks), h('td', { class: 'num' }, x.unique_people),
      h('td', { class: 'num' }, Number(x.dwell_mean_seconds).toFixed(1)), h('td', { class: 'num' }, Number(x.dwell_max_seconds).toFixed(1))));
    out.replaceChildren(
      h('p', {}, `${evs.length} ${evs.length === 1 ? 'interval' : 'intervals'} from ${new Date(c[0].from).toLocaleString()} to ${new Date(c[c.length - 1].to).toLocaleString()}.`),
      h('div', { class: 'charts' },
        lineChart('Faces in view', xs, [{ name: 'mean', cls: 's1', values: c.map((x) => x.faces_mean) }, { name: 'max', cls: 's2', values: c.map((x) => x.faces_max) }], 'per analysed frame'),
        lineChart('New tracks and unique people', xs, [{ name: 'new tracks', cls: 's1', bars: true, values: c.map((x) => x.new_tracks) }, { name: 'unique people', cls: 's2', bars: true, values: c.map((x) => x.unique_people) }], 'per interval'),
        lineChart('Dwell', xs, [{ name: 'mean', cls: 's1', values: c.map((x) => x.dwell_mean_seconds) }, { name: 'max', cls: 's2', values: c.map((x) => x.dwell_max_seconds) }], 'seconds, tracks that ended'),
        places.chart),
      h('div', { class: 'table-wrap' }, h('table', {}, h('caption', {}, 'Crowd figures per interval'),
        h('thead', {}, h('tr', {}, ['Interval', 'Faces mean', 'Faces max', 'New tracks', 'Unique people', 'Dwell mean (s)', 'Dwell max (s)'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, rows))),
      ...places.tables);
    const heat = h('img', { class: 'heatmap', width: 640, height: 360, alt: 'Loading the heatmap…' });
    out.append(h('div', { class: 'charts' }, h('figure', { class: 'chart' }, h('figcaption', {}, 'Where faces were (heatmap of the period)'), heat,
      h('p', { class: 'legend' }, 'Dark blue: no face; then cyan, green, yellow; red: the most face-frames.'))));
    try {
      const q = `from=${encodeURIComponent(new Date(since).toISOString())}`;
      const hm = await api('GET', `/v1/streams/${encodeURIComponent(s.id)}/heatmap?${q}`);
      heat.src = await imageURL(`/v1/streams/${encodeURIComponent(s.id)}/heatmap?${q}&format=png`);
      heat.alt = `Heatmap of where faces were in the frame: ${hm.total} face-frames over ${hm.intervals} intervals; the fullest cell holds ${hm.max}.`;
    } catch (err) { heat.replaceWith(...explain(err)); }
  };
  sel.input.addEventListener('change', load);
  const refresh = h('button', { type: 'button', class: 'secondary' }, 'Refresh');
  refresh.addEventListener('click', load);
  page(`Crowd: ${s.name}`, h('p', { class: 'crumbs' }, h('a', { href: '/streams' }, 'Streams'), ' › ', h('a', { href: `/streams/${encodeURIComponent(s.id)}` }, s.name), ' › Crowd'), '$h1',
    h('div', { class: 'actions' }, sel.el, refresh), out);
  await load();
}

// ---- settings (admin): API keys, gallery thresholds and retention, what the deployment enabled ----

const ROLE_WORDS = { device: 'device (detect and search)', operator: 'operator (people, streams, review)', admin: 'admin (everything)' };

async function viewSettings() {
  if (!can('admin')) {
    page('Settings', '$h1', h('p', {}, 'Only an admin key may open the settings.'));
    return;
  }
  const [keys, gals] = await Promise.all([api('GET', '/v1/keys'), api('GET', '/v1/galleries')]);
  // Keys
  const keyBody = h('tbody');
  const keyErr = h('div', { class: 'error', role: 'alert' });
  const keyRow = (k) => {
    const cell = h('td');
    const row = h('tr', {}, h('td', {}, k.name), h('td', {}, k.role), h('td', {}, fmtDate(k.created_at)),
      h('td', {}, k.revoked ? 'Revoked' : k.id === me.key_id ? 'Active (this key)' : 'Active'), cell);
    const ask = () => {
      const yes = h('button', { type: 'button', class: 'danger' }, `Yes, revoke ${k.name}`);
      const no = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
      no.addEventListener('click', () => { idle(); });
      yes.addEventListener('click', async () => {
        showError(keyErr, null);
        try {
          await api('DELETE', `/v1/keys/${encodeURIComponent(k.id)}`);
          k.revoked = true;
          announce(`Key ${k.name} revoked.`);
          row.replaceWith(keyRow(k));
        } catch (err) { showError(keyErr, explain(err)); idle(); }
      });
      cell.replaceChildren(h('span', { class: 'hint' }, 'Devices using it stop working at once. '), yes, ' ', no);
      no.focus();
    };
    const idle = () => {
      if (k.revoked) { cell.replaceChildren(); return; }
      if (k.id === me.key_id) { cell.replaceChildren(h('span', { class: 'hint' }, 'Sign in with another admin key to revoke this one.')); return; }
      const b = h('button', { type: 'button', class: 'secondary' }, `Revoke ${k.name}…`);
      b.addEventListener('click', ask);
      cell.replaceChildren(b);
      return b;
    };
    idle();
    return row;
  };
  for (const k of keys.keys || []) keyBody.append(keyRow(k));
  const keyName = field('Key name', h('input', { type: 'text', name: 'key_name', autocomplete: 'off' }), 'Who or what uses it, such as “door-2” or “Ana (reviewer)”.');
  const keyRole = field('Role', h('select', { name: 'role' }, Object.entries(ROLE_WORDS).map(([v, t]) => h('option', { value: v, selected: v === 'device' }, t))));
  const secretBox = h('div', { class: 'panel', hidden: true });
  const keyForm = h('form', { class: 'panel', novalidate: true }, h('h3', {}, 'Create a key'), keyName.el, keyRole.el,
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Create key')));
  keyForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(keyForm);
    if (!keyName.input.value.trim()) { showError(keyName, 'Enter a name for the key.'); keyName.input.focus(); return; }
    try {
      const c = await api('POST', '/v1/keys', { json: { name: keyName.input.value.trim(), role: keyRole.input.value } });
      keyBody.append(keyRow(c.key));
      const out = h('input', { type: 'text', readonly: true, value: c.secret, id: 'new-secret', class: 'secret' });
      const copy = h('button', { type: 'button', class: 'secondary' }, 'Copy');
      const copied = h('span', { role: 'status' });
      copy.addEventListener('click', async () => {
        out.select();
        try { await navigator.clipboard.writeText(c.secret); copied.textContent = 'Copied.'; } catch { copied.textContent = 'Select the text and copy it (Ctrl+C).'; }
      });
      secretBox.replaceChildren(h('p', {}, h('strong', {}, `The secret of ${c.key.name} (${c.key.role}): `), 'it is shown only this once. Copy it now and give it to its user.'),
        h('label', { for: 'new-secret' }, 'Secret'), out, h('div', { class: 'actions' }, copy, copied));
      secretBox.hidden = false;
      keyName.input.value = '';
      announce(`Key ${c.key.name} created. Its secret is shown once.`);
      out.focus();
      out.select();
    } catch (err) { showError(keyName, explain(err)); keyName.input.focus(); }
  });
  // Galleries
  const galForms = (gals.galleries || []).map((g) => {
    const thr = field('Match threshold', h('input', { type: 'number', step: '0.001', min: '-1', max: '1', value: Number(g.threshold).toFixed(3) }),
      'Similarity a candidate needs to be a match; higher means fewer false matches and more misses.');
    const fmr = field('Or a target false match rate (optional)', h('input', { type: 'text', inputmode: 'decimal', placeholder: 'e.g. 1e-4', value: g.fmr ? String(g.fmr) : '' }),
      'When changed, it sets the threshold from the model pack’s calibration; a threshold typed in clears it.');
    const ret = field('Retention (days)', h('input', { type: 'number', min: '0', step: '1', value: String(g.retention_days || 0) }), '0 keeps faces until they are erased.');
    const msg = h('p', { role: 'status', class: 'ok' });
    const f = h('form', { class: 'panel', novalidate: true, 'aria-label': `Gallery ${g.name}` }, h('h3', {}, `Gallery ${g.name}`), thr.el, fmr.el, ret.el,
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, `Save ${g.name}`), msg));
    f.addEventListener('submit', async (e) => {
      e.preventDefault();
      clearErrors(f);
      msg.textContent = '';
      const body = {};
      const days = Number(ret.input.value);
      if (!Number.isInteger(days) || days < 0) { showError(ret, 'Enter a whole number of days, 0 or more.'); ret.input.focus(); return; }
      body.retention_days = days;
      const fmrChanged = fmr.input.value.trim() !== (g.fmr ? String(g.fmr) : '') && fmr.input.value.trim() !== '';
      if (fmrChanged) {
        const v = Number(fmr.input.value.trim());
        if (!(v > 0 && v < 1)) { showError(fmr, 'Enter a rate between 0 and 1, such as 0.0001 or 1e-4.'); fmr.input.focus(); return; }
        body.fmr = v;
      } else {
        const v = Number(thr.input.value);
        if (thr.input.value === '' || !(v >= -1 && v <= 1)) { showError(thr, 'Enter a threshold between -1 and 1.'); thr.input.focus(); return; }
        if (Math.abs(v - g.threshold) > 5e-4) body.threshold = v;
      }
      try {
        const u = await api('PATCH', `/v1/galleries/${encodeURIComponent(g.id)}`, { json: body });
        Object.assign(g, u);
        thr.input.value = Number(u.threshold).toFixed(3);
        fmr.input.value = u.fmr ? String(u.fmr) : '';
        msg.textContent = `Saved: threshold ${Number(u.threshold).toFixed(3)}${u.fmr ? ` (target false match rate ${u.fmr})` : ''}, retention ${u.retention_days ? u.retention_days + ' days' : 'until erased'}.`;
      } catch (err) { showError(body.fmr !== undefined ? fmr : thr, explain(err)); }
    });
    return f;
  });
  // Sensitive inferences: off unless switched on here (stored, audited) or with 'serve --enable-inferences'.
  const INF = { age: 'Age', gender: 'Gender', expression: 'Expression' };
  const infBoxes = Object.entries(INF).map(([v, t]) =>
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'inferences', value: v, checked: (me.inferences || []).includes(v) }), t));
  const infMsg = h('p', { class: 'hint', role: 'status' });
  const infErr = h('div', { class: 'error', role: 'alert' });
  const infForm = h('form', { class: 'panel', novalidate: true },
    h('fieldset', {}, h('legend', {}, 'Inferences /v1/detect may run on request'),
      h('p', { class: 'hint' }, 'Off unless needed: age, gender and expression are personal and error-prone. There is no race or ethnicity inference at all. Liveness is always allowed. Every change is in the audit log.'),
      infBoxes),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save inferences')), infMsg, infErr);
  infForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    showError(infErr, null);
    const list = infBoxes.map((l) => l.querySelector('input')).filter((i) => i.checked).map((i) => i.value);
    try {
      const out = await api('PUT', '/v1/settings', { json: { inferences: list } });
      infMsg.textContent = `Saved: ${out.inferences.length ? out.inferences.join(', ') : 'none'} enabled.`;
      announce(infMsg.textContent);
    } catch (err) { showError(infErr, explain(err)); }
  });
  // Deployment
  const onOff = (on) => h('strong', {}, on ? 'On' : 'Off');
  const inf = me.inferences || [];
  const dep = h('dl', { class: 'meta' },
    h('dt', {}, 'Sensitive inferences'), h('dd', {}, h('strong', {}, inf.length ? inf.join(', ') : 'None'), ' (liveness is always allowed; changed below).'),
    h('dt', {}, 'Signed audit checkpoints'), h('dd', {}, onOff(me.audit_signed), '. Turned on with ', h('code', {}, 'facegate serve --audit-key FILE'), ' (a key from ', h('code', {}, 'facegate audit keygen'), ').'),
    h('dt', {}, 'Templates encrypted at rest'), h('dd', {}, onOff(me.templates_encrypted), '. Turned on with ', h('code', {}, 'facegate serve --template-key FILE'), ' (keys from ', h('code', {}, 'facegate keys generate'), ').'),
    h('dt', {}, 'Unlinkable templates'), h('dd', {}, onOff(me.unlinkable_templates), '. Turned on with ', h('code', {}, 'facegate serve --template-secret FILE'), ' (', h('code', {}, 'facegate keys secret'), ').'),
    h('dt', {}, 'Version'), h('dd', {}, me.version || ''));
  page('Settings', '$h1',
    h('h2', {}, 'API keys'), keyErr,
    h('div', { class: 'table-wrap' }, h('table', {}, h('caption', { class: 'visually-hidden' }, 'API keys'),
      h('thead', {}, h('tr', {}, ['Name', 'Role', 'Created', 'Status', 'Action'].map((t) => h('th', { scope: 'col' }, t)))), keyBody)),
    secretBox, keyForm,
    h('h2', {}, 'Galleries'), galForms.length ? galForms : h('p', { class: 'note' }, 'No galleries yet.'),
    h('h2', {}, 'Sensitive inferences'), infForm,
    h('h2', {}, 'This deployment'), h('p', {}, 'The rest is set when the server starts, with the flags shown.'), dep);
}

// ---- guided webcam enrolment ----

const STEP_NAMES = { front: 'Front', left: 'Left', right: 'Right', up: 'Up', down: 'Down' };
// Pose (facegate.go): yaw > 0 is the face turned to the person's own left (towards the image's right), pitch > 0 is
// looking up; checked on the dataset's photos (obama2.jpg, turned to his right, reads yaw -17; mirrored, +20).
// The pose model reads a frontal portrait as looking 10 to 15° down (obama.jpg: pitch -15), so the front step allows
// |pitch| < 18, and the turns and tilts are measured from the accepted front view's pose (b), or from 0 without one.
const CAM_STEPS = [
  { id: 'front', ask: 'Look straight at the camera.', ok: (p) => Math.abs(p.yaw) < 12 && Math.abs(p.pitch) < 18,
    hint: (p) => (Math.abs(p.yaw) >= 12 ? `Turn your head back to the camera (turned ${Math.round(Math.abs(p.yaw))}°).` : `Hold your head level (tilted ${Math.round(Math.abs(p.pitch))}° ${p.pitch > 0 ? 'up' : 'down'}).`) },
  { id: 'left', ask: 'Turn your head slowly to your left.', ok: (p, b) => p.yaw - b.yaw > 15, hint: (p, b) => `Turn a little more to your left (now ${Math.round(p.yaw - b.yaw)}°, need more than 15°).` },
  { id: 'right', ask: 'Turn your head slowly to your right.', ok: (p, b) => b.yaw - p.yaw > 15, hint: (p, b) => `Turn a little more to your right (now ${Math.round(b.yaw - p.yaw)}°, need more than 15°).` },
  { id: 'up', ask: 'Tilt your head up a little.', ok: (p, b) => p.pitch - b.pitch > 10, hint: (p, b) => `Look a little higher (now ${Math.round(p.pitch - b.pitch)}°, need more than 10°).` },
  { id: 'down', ask: 'Tilt your head down a little.', ok: (p, b) => b.pitch - p.pitch > 10, hint: (p, b) => `Look a little lower (now ${Math.round(b.pitch - p.pitch)}°, need more than 10°).` },
];
const ISSUE_WORDS = {
  too_small: 'Come closer: your face is too small in the picture.',
  blurred: 'Hold still: the picture is blurred.',
  dark: 'More light, please: the face is too dark.',
  overexposed: 'Less light, please: the face is too bright.',
  low_contrast: 'The face has too little contrast; try other lighting.',
};
const PASSES_NEEDED = 3; // passing frames before a view is accepted (the best of them is kept)

// webcamGuide returns {el, views(), stop()}: a section that takes the person through the pose steps with the camera
// and keeps the best accepted JPEG of each step.
function webcamGuide() {
  const status = h('p', { class: 'cam-status', role: 'status', 'aria-live': 'polite' });
  const feedback = h('p', { class: 'cam-feedback', 'aria-live': 'off' });
  const video = h('video', { class: 'cam-video', muted: true, playsinline: true, autoplay: true, hidden: true, 'aria-label': 'Your camera picture (mirrored)' });
  const startBtn = h('button', { type: 'button', class: 'secondary' }, 'Use the webcam (guided)');
  const skipBtn = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Skip this step');
  const stopBtn = h('button', { type: 'button', class: 'link', hidden: true }, 'Stop the camera');
  const stepList = h('ol', { class: 'cam-steps', hidden: true }, CAM_STEPS.map((s) => h('li', { 'data-step': s.id }, `${STEP_NAMES[s.id]}: `, h('span', {}, 'waiting'))));
  const taken = h('ul', { class: 'faces cam-taken' });
  const err = h('div', { class: 'error', role: 'alert' });
  const el = h('section', { class: 'cam', 'aria-labelledby': 'cam-h' }, h('h3', { id: 'cam-h' }, 'Or use the webcam, step by step'),
    h('p', { class: 'hint' }, 'The camera pictures are checked one by one by this server (about two a second) and not stored; only the accepted views are enrolled.'),
    h('div', { class: 'actions' }, startBtn, skipBtn, stopBtn), status, h('div', { class: 'cam-row' }, video, stepList), feedback, taken, err);
  let stream = null;
  let timer = null;
  let idx = -1;
  let busy = false;
  let passes = 0;
  let best = null;
  let basePose = { yaw: 0, pitch: 0 };
  const accepted = [];
  const canvas = document.createElement('canvas');

  const setStepText = (id, text) => { const li = stepList.querySelector(`[data-step=${id}] span`); if (li) li.textContent = text; };
  const stop = () => {
    if (timer) clearInterval(timer);
    timer = null;
    if (stream) for (const t of stream.getTracks()) t.stop();
    stream = null;
    video.srcObject = null;
    video.hidden = true;
    skipBtn.hidden = true;
    stopBtn.hidden = true;
    startBtn.hidden = false;
  };
  cleanups.push(stop);
  const finish = () => {
    const hadFocus = document.activeElement === skipBtn || document.activeElement === stopBtn;
    stop();
    if (hadFocus) startBtn.focus();
    startBtn.textContent = 'Start the webcam steps again';
    const n = accepted.length;
    status.textContent = n
      ? `Done: ${n} ${n === 1 ? 'view' : 'views'} accepted (${accepted.map((v) => STEP_NAMES[v.step].toLowerCase()).join(', ')}). Press Enrol to enrol them.`
      : 'Done, but no view was accepted. Try again with more light, or choose a photo above.';
    feedback.textContent = '';
  };
  const next = () => {
    idx++;
    passes = 0;
    best = null;
    if (idx >= CAM_STEPS.length) { finish(); return; }
    const s = CAM_STEPS[idx];
    setStepText(s.id, 'now');
    status.textContent = `Step ${idx + 1} of ${CAM_STEPS.length}, ${STEP_NAMES[s.id].toLowerCase()}: ${s.ask}`;
    feedback.textContent = '';
  };
  const judge = (res) => {
    const s = CAM_STEPS[idx];
    const faces = res.faces || [];
    if (!faces.length) return { text: 'No face seen. Face the camera, with your whole face in the picture.' };
    if (faces.length > 1) return { text: 'More than one face is in view: only the person being enrolled, please.' };
    const f = faces[0];
    const q = f.quality || {};
    const words = (q.issues || []).filter((i) => ISSUE_WORDS[i]).map((i) => ISSUE_WORDS[i]);
    if ((q.left_eye_open ?? 1) < 0.5 || (q.right_eye_open ?? 1) < 0.5) words.push('Keep your eyes open.');
    const p = q.pose || { yaw: 0, pitch: 0 };
    if (!s.ok(p, basePose)) words.push(s.hint(p, basePose));
    const a = f.attributes || {};
    const live = a.live === undefined ? '' : a.live ? ' Liveness: live.' : ' Liveness: looks like a photo or a screen (spoof).';
    return { pass: !words.length, score: q.score || 0, pose: p, text: (words.length ? words.join(' ') : 'Good, hold it…') + live };
  };
  const tick = async () => {
    if (busy || !stream || idx >= CAM_STEPS.length || !video.videoWidth) return;
    busy = true;
    const stepAt = idx;
    try {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      canvas.getContext('2d').drawImage(video, 0, 0);
      const blob = await new Promise((r) => canvas.toBlob(r, 'image/jpeg', 0.92));
      const fd = new FormData();
      fd.append('image', blob, 'frame.jpg');
      const res = await api('POST', '/v1/detect?attributes=liveness', { form: fd });
      if (stepAt !== idx || !stream) return;
      const v = judge(res);
      feedback.textContent = v.text;
      if (v.pass) {
        passes++;
        if (!best || v.score > best.score) best = { blob, score: v.score, pose: v.pose };
        if (passes >= PASSES_NEEDED) {
          const s = CAM_STEPS[idx];
          accepted.push({ step: s.id, blob: best.blob, score: best.score });
          if (s.id === 'front') basePose = { yaw: best.pose.yaw || 0, pitch: best.pose.pitch || 0 };
          const u = URL.createObjectURL(best.blob);
          blobURLs.push(u);
          taken.append(h('li', {}, h('img', { src: u, alt: `${STEP_NAMES[s.id]} view`, width: 112, height: 84 }), h('span', { class: 'hint' }, `${STEP_NAMES[s.id]}, quality ${best.score.toFixed(2)}`)));
          setStepText(s.id, 'accepted');
          announce(`${STEP_NAMES[s.id]} view accepted.`);
          next();
        }
      }
    } catch (e) {
      if (e instanceof APIError && e.status === 401) { stop(); return; }
      feedback.textContent = e instanceof APIError ? e.message : String(e.message || e);
    } finally {
      busy = false;
    }
  };
  startBtn.addEventListener('click', async () => {
    showError(err, null);
    accepted.length = 0;
    taken.replaceChildren();
    for (const s of CAM_STEPS) setStepText(s.id, 'waiting');
    basePose = { yaw: 0, pitch: 0 };
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      showError(err, 'This browser gives no camera access here (it needs HTTPS, or localhost).');
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 1280 }, height: { ideal: 720 } }, audio: false });
    } catch (e) {
      showError(err, e && e.name === 'NotAllowedError' ? 'The camera was not allowed. Allow it in the browser, or choose a photo above.' : 'No camera could be opened: ' + (e.message || e.name));
      return;
    }
    video.srcObject = stream;
    video.hidden = false;
    video.play().catch(() => { /* autoplay covers it */ });
    stepList.hidden = false;
    startBtn.hidden = true;
    skipBtn.hidden = false;
    stopBtn.hidden = false;
    idx = -1;
    next();
    skipBtn.focus();
    timer = setInterval(tick, 500);
  });
  skipBtn.addEventListener('click', () => {
    if (idx < 0 || idx >= CAM_STEPS.length) return;
    const s = CAM_STEPS[idx];
    setStepText(s.id, 'skipped');
    announce(`${STEP_NAMES[s.id]} step skipped.`);
    next();
    if (idx >= CAM_STEPS.length) startBtn.focus();
  });
  stopBtn.addEventListener('click', () => { finish(); startBtn.focus(); });
  return { el, views: () => accepted.slice(), stop };
}

// keyNamer returns a function from an API key id to its name: the signed-in key's own name, the names an admin
// may list (GET /v1/keys, fetched once per page), else the id itself. Names the API sends along win.
async function keyNamer() {
  const names = {};
  if (me) names[me.key_id] = me.name;
  if (can('admin')) {
    try { for (const k of (await api('GET', '/v1/keys')).keys || []) names[k.id] = k.name; } catch { /* ids then */ }
  }
  return (id, name) => name || names[id] || id || '';
}

// alertMedia fetches the crops and reference photos of up to 100 alerts in one request (GET /v1/alerts/media),
// so a page of alerts never trips the key's rate limit. It resolves to {alert id: {crop, crop_state, reference,
// reference_face_id}}; it rejects when the request fails (then the page says "could not load", never "expired").
async function alertMedia(ids) {
  const out = {};
  for (let i = 0; i < ids.length; i += 100) {
    const part = ids.slice(i, i + 100);
    const res = await api('GET', `/v1/alerts/media?ids=${part.map(encodeURIComponent).join(',')}`);
    Object.assign(out, res.media || {});
  }
  return out;
}

function jpegURL(b64) {
  return `data:image/jpeg;base64,${b64}`;
}

// watchSection shows a watchlist subject's entry (reason, review date, who added it) with a form to set a new
// review date (PATCH the subject's watch; the reason may be updated with it).
function watchSection(g, s, sp, nameOf) {
  const w = s.watch || {};
  const overdue = w.review_at && new Date(w.review_at) <= new Date();
  const reason = field('Reason', h('textarea', { name: 'reason', rows: 2 }, w.reason || ''), 'Why this person is on the watchlist.');
  const date = field('New review date', h('input', { type: 'date', name: 'review_at', value: toDateInput(w.review_at) }),
    'Extend the entry only if it is still needed; otherwise erase the person below.');
  const msg = h('p', { role: 'status', class: 'ok' });
  const form = h('form', { class: 'panel', novalidate: true, 'aria-label': 'Review the watchlist entry' }, h('h3', {}, 'Review the entry'), reason.el, date.el,
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save the review'), msg));
  const facts = h('dl', { class: 'meta', id: 'watch-entry' });
  const showFacts = (x) => {
    const late = x.review_at && new Date(x.review_at) <= new Date();
    facts.replaceChildren(
      h('dt', {}, 'Reason'), h('dd', {}, x.reason || '—'),
      h('dt', {}, 'Review date'), h('dd', {}, x.review_at ? new Date(x.review_at).toLocaleDateString() : '—',
        late ? [' ', h('span', { class: 'badge unknown' }, 'overdue')] : null),
      h('dt', {}, 'Added by'), h('dd', {}, nameOf(x.added_by, x.added_by_name) || '—'));
  };
  showFacts(w);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    msg.textContent = '';
    if (!reason.input.value.trim()) { showError(reason, 'Enter why this person is on the watchlist.'); reason.input.focus(); return; }
    if (!date.input.value || new Date(fromDateInput(date.input.value)) <= new Date()) { showError(date, 'Choose a review date in the future.'); date.input.focus(); return; }
    try {
      const u = await api('PATCH', sp, { json: { watch: { reason: reason.input.value.trim(), review_at: fromDateInput(date.input.value) } } });
      s.watch = u.watch;
      showFacts(u.watch || {});
      msg.textContent = `Saved: next review on ${new Date(u.watch.review_at).toLocaleDateString()}.`;
      announce(msg.textContent);
    } catch (err) { showError(date, explain(err)); }
  });
  return [h('h2', { id: 'watch-h' }, 'Watchlist entry'),
    overdue ? h('p', { class: 'note', role: 'status' }, 'The review date has passed: extend the entry if it is still needed, or erase the person.') : null,
    facts, form];
}

// rejectionsSection lists the subject's rejections ("not this person", each from a reviewed alert) with the
// rejected capture when it is still kept, and an Undo for each.
async function rejectionsSection(sp, nameOf, who) {
  const out = h('div', { id: 'rejections' });
  let list;
  try {
    list = (await api('GET', `${sp}/rejections`)).rejections || [];
  } catch (err) {
    if (err.status === 401) throw err;
    return [h('h2', {}, 'Rejections'), h('div', { class: 'error', role: 'alert' }, h('p', {}, 'The rejections could not be loaded.'), explain(err))];
  }
  if (!list.length) {
    out.append(h('p', { class: 'note' }, `No rejection: every match of ${who} raises an alert.`));
    return [h('h2', {}, 'Rejections (0)'), out];
  }
  const heading = h('h2', {}, `Rejections (${list.length})`);
  const err = h('div', { class: 'error', role: 'alert' });
  const crops = {};
  const tbody = h('tbody', {}, list.map((r) => {
    const img = h('p', { class: 'note thumbbox small' }, 'Loading…');
    crops[r.alert_id] = crops[r.alert_id] || [];
    crops[r.alert_id].push(img);
    const undo = h('button', { type: 'button', class: 'secondary' }, 'Undo');
    undo.setAttribute('aria-label', `Undo the rejection of ${fmtDate(r.created_at)}`);
    const row = h('tr', { 'data-id': r.id }, h('td', { class: 'thumbcol' }, img),
      h('td', {}, fmtDate(r.created_at)), h('td', {}, nameOf(r.reviewed_by, r.reviewed_by_name)), h('td', {}, r.note || ''),
      h('td', { class: 'num' }, r.score !== undefined ? Number(r.score).toFixed(3) : '—'), h('td', {}, fmtDate(r.expires_at)), h('td', {}, undo));
    undo.addEventListener('click', async () => {
      showError(err, null);
      undo.disabled = true;
      try {
        await api('DELETE', `${sp}/rejections/${encodeURIComponent(r.id)}`);
        row.remove();
        const left = tbody.children.length;
        heading.textContent = `Rejections (${left})`;
        const text = `Rejection undone: captures like it raise alerts for ${who} again.`;
        out.prepend(h('p', { class: 'ok' }, text));
        if (!left) table.replaceWith(h('p', { class: 'note' }, `No rejection: every match of ${who} raises an alert.`));
        announce(text);
        heading.focus();
      } catch (e) { undo.disabled = false; showError(err, explain(e)); }
    });
    return row;
  }));
  heading.tabIndex = -1;
  const table = h('div', { class: 'table-wrap' }, h('table', {}, h('caption', { class: 'visually-hidden' }, 'Rejected captures of this person'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col', class: 'thumbcol' }, 'Capture'), ['Rejected', 'By', 'Note', 'Score', 'Expires', 'Action'].map((t) => h('th', { scope: 'col', class: t === 'Score' ? 'num' : null }, t)))),
    tbody));
  out.append(h('p', { class: 'hint' }, 'A rejection stops a later match only when that face looks more like the rejected capture than like this person’s enrolled photos. Undo one that was a mistake; each expires by itself.'), table, err);
  const ids = Object.keys(crops).filter(Boolean);
  (ids.length ? alertMedia(ids) : Promise.resolve({})).then((media) => {
    for (const [id, els] of Object.entries(crops)) {
      const m = media[id] || {};
      for (const el of els) {
        if (m.crop) el.replaceWith(h('img', { class: 'crop small', src: jpegURL(m.crop), alt: 'The rejected capture' }));
        else el.textContent = 'No crop kept';
      }
    }
  }, () => { for (const els of Object.values(crops)) for (const el of els) el.textContent = 'Could not load'; });
  return [heading, out];
}

async function viewSubject(gid, sid) {
  const g = await api('GET', `/v1/galleries/${encodeURIComponent(gid)}`);
  const base = `/galleries/${encodeURIComponent(g.id)}`;
  const sp = `/v1/galleries/${encodeURIComponent(g.id)}/subjects/${encodeURIComponent(sid)}`;
  const info = await api('GET', sp);
  const s = info.subject;
  const who = s.display_name || s.external_id || s.id;
  const watchlist = isWatchlist(g) || !!s.watch;
  const [faces, consents, nameOf] = await Promise.all([api('GET', `${sp}/faces`), api('GET', `${sp}/consents`), keyNamer()]);
  const rejections = watchlist ? await rejectionsSection(sp, nameOf, who) : null;
  const faceItems = (faces.faces || []).map((f, i) => {
    const img = h('img', { alt: `Face ${i + 1} of ${who}`, width: 112, height: 112 });
    imageURL(`${sp}/faces/${encodeURIComponent(f.id)}/thumbnail`).then((u) => { img.src = u; }).catch(() => { img.alt = `Face ${i + 1}: no thumbnail stored`; });
    return h('li', {}, img, h('span', { class: 'hint' }, `Quality ${f.quality && f.quality.score !== undefined ? Number(f.quality.score).toFixed(2) : '—'}, enrolled ${fmtDate(f.created_at)}`));
  });
  // Enrolment history: the subject, each face and each consent given or withdrawn, in time order.
  const events = [{ t: s.created_at, text: 'Person created' }];
  (faces.faces || []).forEach((f, i) => events.push({ t: f.created_at, text: `Face ${i + 1} enrolled` }));
  (consents.consents || []).forEach((c) => {
    events.push({ t: c.given_at, text: `Consent given by ${c.given_by}${c.guardian ? ' (guardian)' : ''} (${c.evidence})` });
    if (c.withdrawn_at) events.push({ t: c.withdrawn_at, text: `Consent by ${c.given_by} withdrawn` });
  });
  if (s.watch) events.push({ t: s.created_at, text: `Added to the watchlist by ${nameOf(s.watch.added_by, s.watch.added_by_name)}: ${s.watch.reason}` });
  events.sort((a, b) => new Date(a.t) - new Date(b.t));
  const history = h('ol', { class: 'history' }, events.map((e) => h('li', {}, h('time', { datetime: e.t }, fmtDate(e.t)), ' ', e.text)));
  const consentRows = (consents.consents || []).map((c) => h('tr', {},
    h('td', {}, c.given_by, c.guardian ? ' (guardian)' : ''),
    h('td', {}, (c.purposes || []).map((p) => PURPOSES[p] || p).join(', ')),
    h('td', {}, c.evidence),
    h('td', {}, fmtDate(c.given_at)),
    h('td', {}, c.withdrawn_at ? `Withdrawn ${fmtDate(c.withdrawn_at)}` : c.expires_at ? `In force until ${fmtDate(c.expires_at)}` : 'In force')));
  const exportErr = h('div', { class: 'error', role: 'alert' });
  const exportBtn = h('button', { type: 'button', class: 'secondary' }, 'Export (download)');
  exportBtn.addEventListener('click', async () => {
    showError(exportErr, null);
    try {
      const res = await api('GET', `${sp}/export`, { blob: true });
      const cd = res.headers.get('Content-Disposition') || '';
      const m = cd.match(/filename="?([^";]+)"?/);
      const url = URL.createObjectURL(await res.blob());
      const a = h('a', { href: url, download: m ? m[1] : `facegate-subject-${s.id}.zip`, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      announce('Export downloaded.');
    } catch (err) {
      showError(exportErr, explain(err));
    }
  });
  const eraseBtn = h('button', { type: 'button', class: 'danger' }, 'Erase…');
  const confirmBox = h('div', { class: 'confirm', role: 'group', 'aria-labelledby': 'erase-q', hidden: true });
  const eraseErr = h('div', { class: 'error', role: 'alert' });
  eraseBtn.addEventListener('click', () => {
    const yes = h('button', { type: 'button', class: 'danger' }, `Yes, erase ${who}`);
    const no = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
    confirmBox.replaceChildren(
      h('p', { id: 'erase-q' }, h('strong', {}, `Erase ${who} permanently?`),
        ' The person, their faces, thumbnails, consent records, match crops and alerts are deleted now and cannot be recovered; the audit log keeps only the fact of the erasure. Export first if the person asked for a copy.'),
      h('div', { class: 'actions' }, yes, no), eraseErr);
    confirmBox.hidden = false;
    eraseBtn.disabled = true;
    no.addEventListener('click', () => { confirmBox.hidden = true; eraseBtn.disabled = false; eraseBtn.focus(); });
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      try {
        await api('DELETE', sp);
        announce(`${who} was erased.`);
        go(base);
      } catch (err) {
        yes.disabled = false;
        showError(eraseErr, explain(err));
      }
    });
    no.focus();
  });
  page(who, crumbs(galleryLink(g), who), '$h1',
    h('dl', { class: 'meta' },
      h('dt', {}, 'External id'), h('dd', {}, s.external_id || '—'),
      h('dt', {}, 'Display name'), h('dd', {}, s.display_name || '—'),
      h('dt', {}, 'Enrolled'), h('dd', {}, fmtDate(s.created_at)),
      s.minor ? [h('dt', {}, 'Minor'), h('dd', {}, 'Yes')] : null,
      h('dt', {}, 'Subject id'), h('dd', {}, h('code', {}, s.id))),
    watchlist ? watchSection(g, s, sp, nameOf) : null,
    h('h2', {}, `Faces (${faceItems.length})`),
    faceItems.length ? h('ul', { class: 'faces' }, faceItems) : h('p', { class: 'note' }, 'No faces are enrolled (they may have been erased when consent was withdrawn).'),
    rejections,
    h('h2', {}, 'Enrolment history'), history,
    watchlist && !consentRows.length ? null : h('h2', {}, 'Consent records'),
    watchlist && !consentRows.length ? null : consentRows.length
      ? h('div', { class: 'table-wrap' }, h('table', {}, h('caption', { class: 'visually-hidden' }, 'Consent records'),
        h('thead', {}, h('tr', {}, ['Given by', 'Purposes', 'Evidence', 'Given', 'Status'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, consentRows)))
      : h('p', { class: 'note' }, 'No consent record.'),
    h('h2', {}, 'Data-subject requests'),
    h('div', { class: 'actions' }, exportBtn, eraseBtn), exportErr, confirmBox);
}

async function viewSearch(gid) {
  const g = await api('GET', `/v1/galleries/${encodeURIComponent(gid)}`);
  const base = `/galleries/${encodeURIComponent(g.id)}`;
  const photo = field('Photo to search', h('input', { type: 'file', name: 'image', accept: 'image/*' }),
    'Every face in the photo is compared with the people in this gallery. The photo is not stored.');
  const submit = h('button', { type: 'submit' }, 'Search');
  const form = h('form', { class: 'panel', novalidate: true }, photo.el, h('div', { class: 'actions' }, submit));
  const out = h('div', { id: 'search-result', 'aria-live': 'polite' });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const file = photo.input.files[0];
    if (!file) return showError(photo, 'Choose a photo to search with.');
    const fd = new FormData();
    fd.append('image', file);
    submit.disabled = true;
    submit.textContent = 'Searching…';
    out.replaceChildren();
    try {
      const res = await api('POST', `/v1/galleries/${encodeURIComponent(g.id)}/search`, { form: fd });
      await showSearch(out, file, res, base);
    } catch (err) {
      showError(photo, explain(err));
      photo.input.focus();
    } finally {
      submit.disabled = false;
      submit.textContent = 'Search';
    }
  });
  page(`Search ${g.name}`, crumbs(galleryLink(g), 'Search'), '$h1', form, out);
}

async function showSearch(out, file, res, base) {
  const faces = res.faces || [];
  const canvas = h('canvas', { role: 'img' });
  const summary = faces.length === 0 ? 'No face was found in the photo.'
    : `${faces.length} face${faces.length > 1 ? 's' : ''} found: ` + faces.map((f, i) => `face ${i + 1} ${f.result === 'match' ? 'matches ' + candName(f.candidates[0]) : 'is unknown'}`).join('; ') + '.';
  canvas.setAttribute('aria-label', 'The searched photo with numbered face boxes. ' + summary);
  try {
    const bmp = await createImageBitmap(file, { imageOrientation: 'from-image' });
    const w = res.width || bmp.width;
    const hgt = res.height || bmp.height;
    canvas.width = w;
    canvas.height = hgt;
    const ctx = canvas.getContext('2d');
    ctx.drawImage(bmp, 0, 0, w, hgt);
    const lw = Math.max(2, Math.round(Math.max(w, hgt) / 300));
    faces.forEach((f, i) => {
      const b = f.box;
      const color = f.result === 'match' ? '#1b7a37' : '#b45309'; // white text on both: contrast 5:1 or more
      ctx.lineWidth = lw;
      ctx.strokeStyle = '#000';
      ctx.strokeRect(b.x1, b.y1, b.x2 - b.x1, b.y2 - b.y1);
      ctx.strokeStyle = color;
      ctx.strokeRect(b.x1 + lw, b.y1 + lw, b.x2 - b.x1 - 2 * lw, b.y2 - b.y1 - 2 * lw);
      const label = `${i + 1} ${f.result === 'match' ? candName(f.candidates[0]) : 'unknown'}`;
      const fs = Math.max(14, Math.round(Math.max(w, hgt) / 40));
      ctx.font = `bold ${fs}px system-ui, sans-serif`;
      const tw = ctx.measureText(label).width + fs * 0.6;
      const ty = b.y1 - fs * 1.4 >= 0 ? b.y1 - fs * 1.4 : b.y2;
      ctx.fillStyle = color;
      ctx.fillRect(b.x1, ty, tw, fs * 1.4);
      ctx.fillStyle = '#fff';
      ctx.fillText(label, b.x1 + fs * 0.3, ty + fs * 1.05);
    });
  } catch {
    canvas.replaceWith(h('p', { class: 'note' }, 'The browser could not draw this photo; the results are listed below.'));
  }
  // A suppressed candidate reached the threshold but looks more like a capture a reviewer rejected ("not this
  // person") than like the person's enrolled photos. Its rejection date comes from the person's rejections
  // (operator keys; one request per suppressed person).
  const rejectedOn = {};
  const suppressedNote = (c) => {
    const sp = c.suppression || {};
    const when = h('span', { class: 'rejected-on' }, 'earlier');
    const key = c.subject_id;
    (rejectedOn[key] = rejectedOn[key] || []).push({ when, id: sp.rejection_id });
    return h('p', { class: 'suppressed' }, h('strong', {}, 'suppressed: '),
      'looks more like a capture rejected on ', when, ' than like the person’s photos',
      sp.score !== undefined ? ` (${Number(sp.score).toFixed(3)} to the rejected capture, ${Number(sp.enrolled_score).toFixed(3)} to the closest enrolled photo)` : '',
      ' — undo on ', h('a', { href: `${base}/subjects/${encodeURIComponent(c.subject_id)}` }, 'the person’s page'), '.');
  };
  const results = faces.map((f, i) => {
    const match = f.result === 'match';
    const cands = f.candidates || [];
    const supp = cands.filter((c) => c.suppressed);
    return h('section', { class: `result ${match ? 'match' : 'unknown'}`, 'aria-labelledby': `face-${i + 1}` },
      h('h3', { id: `face-${i + 1}` }, `Face ${i + 1}: `, h('span', { class: `badge ${match ? 'match' : 'unknown'}` }, match ? 'match' : 'unknown'),
        match ? [' ', h('a', { href: `${base}/subjects/${encodeURIComponent(cands[0].subject_id)}` }, candName(cands[0]))] : null),
      match ? null : h('p', {}, !cands.length ? 'Nobody in this gallery is similar enough to list.'
        : supp.length ? `${supp.map(candName).join(', ')} ${supp.length > 1 ? 'reach' : 'reaches'} the match threshold (${Number(res.threshold).toFixed(3)}) but ${supp.length > 1 ? 'were' : 'was'} suppressed by a reviewer’s rejection (below). Nobody else reaches it; the others are listed for reference only.`
          : `Nobody in this gallery reaches the match threshold (${Number(res.threshold).toFixed(3)}). The closest people are listed for reference only; they are not matches.`),
      f.alert_id ? h('p', { class: 'note' }, 'This match created an alert: a person must review it in the ', h('a', { href: '/alerts' }, 'review queue'), ' before anything is done.') : null,
      cands.length ? h('table', {}, h('caption', { class: 'visually-hidden' }, `Candidates for face ${i + 1}`),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Candidate'), h('th', { scope: 'col', class: 'num' }, 'Score'), h('th', { scope: 'col' }, 'Decision'))),
        h('tbody', {}, cands.map((c) => h('tr', { class: c.suppressed ? 'suppressed-row' : null },
          h('td', {}, h('a', { href: `${base}/subjects/${encodeURIComponent(c.subject_id)}` }, candName(c))),
          h('td', { class: 'num' }, Number(c.score).toFixed(3)),
          h('td', {}, c.match ? 'match' : c.suppressed ? suppressedNote(c) : 'below threshold'))))) : null);
  });
  if (can('operator')) {
    const gp = base.replace(/^\/galleries\//, '/v1/galleries/');
    for (const [sid, els] of Object.entries(rejectedOn)) {
      api('GET', `${gp}/subjects/${encodeURIComponent(sid)}/rejections`).then((r) => {
        const byID = Object.fromEntries((r.rejections || []).map((x) => [x.id, x]));
        for (const { when, id } of els) if (byID[id]) when.textContent = new Date(byID[id].created_at).toLocaleDateString();
      }, () => { /* the date stays "earlier" */ });
    }
  }
  out.replaceChildren(h('h2', {}, 'Result'), h('p', { role: 'status' }, summary),
    h('div', { class: 'search-layout' }, canvas, h('div', {}, results)));
  announce(summary);
}

function candName(c) {
  if (!c) return 'unknown';
  return c.display_name || c.external_id || c.subject_id;
}

// ---- second slice: streams, live view, review queue, audit ----

const STATES = { starting: 'Starting', running: 'Running', reconnecting: 'Reconnecting', ended: 'Ended', stopped: 'Stopped' };

function needRole(role, title, what) {
  if (can(role)) return true;
  page(title, h('p', {}, `Your key’s role (${me.role}) may not ${what}. Ask for an ${role} key.`));
  return false;
}

function every(ms, fn) {
  const t = setInterval(fn, ms);
  cleanups.push(() => clearInterval(t));
}

function fmtRate(x) {
  return x === undefined || x === null ? '—' : Number(x).toFixed(1);
}

function download(url, name) {
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

async function galleryNames() {
  const m = {};
  for (const g of (await api('GET', '/v1/galleries')).galleries || []) m[g.id] = g.name;
  return m;
}

function streamRow(s, gnames, onRemove) {
  const st = s.status || {};
  const live = `/streams/${encodeURIComponent(s.id)}`;
  return h('tr', { 'data-id': s.id, 'data-sig': JSON.stringify([s.name, s.source, s.gallery, gnames[s.gallery]]) },
    h('td', {}, h('a', { href: live, 'aria-label': `${s.name}: live view` }, s.name)),
    h('td', { class: 'hide-narrow' }, h('code', { class: 'src' }, s.source)),
    h('td', {}, s.gallery ? gnames[s.gallery] || s.gallery : h('span', { class: 'note' }, 'none (count only)')),
    h('td', { 'data-k': 'state' }, h('span', { class: `state ${st.state || ''}` }, STATES[st.state] || st.state || '—')),
    h('td', { class: 'num', 'data-k': 'fps' }, `${fmtRate(st.fps_in)} / ${fmtRate(st.fps_analysed)}`),
    h('td', { class: 'num', 'data-k': 'dropped' }, st.frames_dropped ?? 0),
    h('td', { class: 'hide-narrow', 'data-k': 'error' }, st.last_error || '—'),
    can('admin') ? h('td', {}, h('div', { class: 'row-actions' },
      h('a', { href: `${live}/edit`, 'aria-label': `Edit ${s.name}` }, 'Edit'),
      h('button', { type: 'button', class: 'link danger-link', 'aria-label': `Remove ${s.name}…`, onclick: () => onRemove(s) }, 'Remove…'))) : null);
}

async function viewStreams() {
  if (!needRole('operator', 'Streams', 'see video streams')) return;
  const [list, gnames] = await Promise.all([api('GET', '/v1/streams'), galleryNames()]);
  const tbody = h('tbody', {});
  const empty = h('p', { class: 'note' }, can('admin') ? 'There are no streams yet. Add the first one below.' : 'There are no streams yet. An admin has to add one.');
  const confirmBox = h('div', { class: 'confirm', role: 'group', 'aria-labelledby': 'remove-q', hidden: true });
  const statusErr = h('div', { class: 'error', role: 'alert' });
  const onRemove = (s) => {
    const yes = h('button', { type: 'button', class: 'danger' }, `Yes, remove ${s.name}`);
    const no = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
    const err = h('div', { class: 'error', role: 'alert' });
    confirmBox.replaceChildren(h('p', { id: 'remove-q' }, h('strong', {}, `Remove the stream ${s.name}?`),
      ' It stops now, its configuration is deleted, and so are the match crops it kept. Pending alerts stay in the review queue.'),
    h('div', { class: 'actions' }, yes, no), err);
    confirmBox.hidden = false;
    no.addEventListener('click', () => { confirmBox.hidden = true; });
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      try {
        await api('DELETE', `/v1/streams/${encodeURIComponent(s.id)}`);
        confirmBox.hidden = true;
        announce(`Stream ${s.name} removed.`);
        await refresh();
      } catch (e) {
        yes.disabled = false;
        showError(err, explain(e));
      }
    });
    no.focus();
  };
  // Rows are updated in place (only the status cells), so a refresh never moves the keyboard focus.
  const fill = (streams) => {
    const old = new Map([...tbody.children].map((tr) => [tr.dataset.id, tr]));
    const rows = streams.map((s) => {
      const fresh = streamRow(s, gnames, onRemove);
      const tr = old.get(s.id);
      if (!tr || tr.dataset.sig !== fresh.dataset.sig) return fresh;
      for (const td of fresh.querySelectorAll('[data-k]')) {
        const cur = tr.querySelector(`[data-k="${td.dataset.k}"]`);
        if (cur.textContent !== td.textContent) cur.replaceChildren(...td.childNodes);
      }
      return tr;
    });
    rows.forEach((tr, i) => { if (tbody.children[i] !== tr) tbody.insertBefore(tr, tbody.children[i] || null); });
    while (tbody.children.length > rows.length) tbody.lastChild.remove();
    table.hidden = !streams.length;
    empty.hidden = !!streams.length;
  };
  const table = h('div', { class: 'table-wrap' }, h('table', {}, h('caption', { class: 'visually-hidden' }, 'Video streams with their live status'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col', class: 'hide-narrow' }, 'Source'), h('th', { scope: 'col' }, 'Gallery'),
      h('th', { scope: 'col' }, 'State'), h('th', { scope: 'col', class: 'num' }, 'fps in / analysed'), h('th', { scope: 'col', class: 'num' }, 'Dropped'),
      h('th', { scope: 'col', class: 'hide-narrow' }, 'Last error'), can('admin') ? h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')) : null)),
    tbody));
  const refresh = async () => {
    try {
      fill((await api('GET', '/v1/streams')).streams || []);
      showError(statusErr, null);
    } catch (e) {
      if (e.status !== 401) showError(statusErr, [h('p', {}, 'The status could not be refreshed.'), ...explain(e)]);
    }
  };
  fill(list.streams || []);
  page('Streams', h('p', { class: 'hint' }, 'The status refreshes every 3 seconds. Open a stream for its live view.'), table, empty, statusErr, confirmBox,
    can('admin') ? [h('h2', {}, 'Add a stream'), streamForm(null, gnames, async (s) => { announce(`Stream ${s.name} added.`); await refresh(); })] : null);
  every(3000, refresh);
}

// streamForm adds (s null) or replaces (PUT, the whole configuration) a stream.
function streamForm(s, gnames, done) {
  const name = field('Name', h('input', { type: 'text', name: 'name', autocomplete: 'off', value: s ? s.name : '' }), 'A short name, such as front door. It must be unique.');
  // The server never returns credentials: a source that has them shows *** in their place, and sending *** back
  // keeps the stored ones.
  const source = field('Source', h('input', { type: 'text', name: 'source', autocomplete: 'off', spellcheck: 'false', value: s ? s.source : '' }),
    s && s.has_credentials ? 'The stored password is not shown: leave *** to keep it, or type a new one.'
      : 'A video file on the server, rtsp://…, http://… (MJPEG) or device:/dev/video0.');
  const gallery = field('Gallery', h('select', { name: 'gallery' }, h('option', { value: '' }, 'None: detect, track and count only'),
    Object.entries(gnames).map(([id, n]) => h('option', { value: id, selected: s && s.gallery === id }, n))), 'The people faces are identified against.');
  const fps = field('Frames analysed per second', h('input', { type: 'number', name: 'fps', min: '0.1', max: '30', step: '0.1', value: s && s.fps ? s.fps : 5 }), 'More than 0, at most 30.');
  const loop = h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'loop', checked: !!(s && s.loop) }), 'Loop: start a file again at its end');
  const norealtime = h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'no_realtime', checked: !!(s && s.no_realtime) }), 'Read a file as fast as possible instead of at its own speed');
  const formErr = h('div', { class: 'error', role: 'alert' });
  const submit = h('button', { type: 'submit' }, s ? 'Save and restart' : 'Add stream');
  const form = h('form', { class: 'panel', novalidate: true }, name.el, source.el, gallery.el, fps.el,
    h('fieldset', {}, h('legend', {}, 'Options'), loop, norealtime), formErr,
    h('div', { class: 'actions' }, submit, s ? h('a', { href: '/streams' }, 'Cancel') : null));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    // PUT replaces the whole configuration: keep the fields this form does not show.
    const body = s ? { ...s } : {};
    delete body.id; delete body.status; delete body.created_at; delete body.updated_at; delete body.has_credentials;
    Object.assign(body, { name: name.input.value.trim(), source: source.input.value.trim(), gallery: gallery.input.value || undefined,
      fps: Number(fps.input.value), loop: loop.querySelector('input').checked, no_realtime: norealtime.querySelector('input').checked });
    let bad = false;
    if (!body.name) { showError(name, 'Enter a name for the stream.'); bad = true; }
    if (!body.source) { showError(source, 'Enter where the video comes from.'); bad = true; }
    if (!(body.fps > 0 && body.fps <= 30)) { showError(fps, 'Enter a number of frames per second above 0 and at most 30.'); bad = true; }
    if (bad) return (form.querySelector('[aria-invalid=true]') || submit).focus();
    submit.disabled = true;
    try {
      const saved = await api(s ? 'PUT' : 'POST', s ? `/v1/streams/${encodeURIComponent(s.id)}` : '/v1/streams', { json: body });
      if (!s) form.reset();
      await done(saved);
    } catch (err) {
      const msg = explain(err);
      if (err.code === 'bad_source' || /source/i.test(err.message)) { showError(source, err.code === 'bad_source' ? [h('p', {}, 'This source cannot be opened.'), h('p', { class: 'note' }, 'Server says: ' + err.message)] : msg); source.input.focus(); }
      else if (err.code === 'conflict') { showError(name, 'A stream with this name already exists. Choose another name.'); name.input.focus(); }
      else if (err.code === 'not_found' || /gallery/i.test(err.message)) { showError(gallery, err.code === 'not_found' ? 'This gallery no longer exists.' : msg); gallery.input.focus(); }
      else if (/fps/i.test(err.message)) { showError(fps, msg); fps.input.focus(); }
      else showError(formErr, msg);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

async function viewStreamEdit(id) {
  if (!needRole('admin', 'Edit stream', 'change streams')) return;
  const [s, gnames] = await Promise.all([api('GET', `/v1/streams/${encodeURIComponent(id)}`), galleryNames()]);
  page(`Edit ${s.name}`, h('p', { class: 'crumbs' }, h('a', { href: '/streams' }, 'Streams'), ' › ', s.name), '$h1',
    h('p', {}, 'Saving replaces the stream’s configuration and restarts it.'),
    streamForm(s, gnames, (saved) => { announce(`Stream ${saved.name} saved.`); go('/streams'); }));
}

// keyFetch is a streaming GET with the key; the caller reads the body. It stops when the page changes.
async function keyFetch(path) {
  const ac = new AbortController();
  cleanups.push(() => ac.abort());
  const res = await fetch(path, { headers: { Authorization: `Bearer ${sessionStorage.getItem(KEY)}` }, cache: 'no-store', signal: ac.signal });
  if (res.status === 401) {
    signOut('Your API key was not accepted (unknown, revoked or missing). Please sign in again.');
    throw new APIError(401, null);
  }
  if (!res.ok) {
    let b = null;
    try { b = await res.json(); } catch { /* not JSON */ }
    throw new APIError(res.status, b);
  }
  return res;
}

function indexOf(buf, pat, from) {
  outer: for (let i = from || 0; i <= buf.length - pat.length; i++) {
    for (let j = 0; j < pat.length; j++) if (buf[i + j] !== pat[j]) continue outer;
    return i;
  }
  return -1;
}

// readMJPEG reads multipart/x-mixed-replace from res and calls onFrame with each part's bytes.
async function readMJPEG(res, onFrame) {
  const m = (res.headers.get('Content-Type') || '').match(/boundary="?([^";]+)"?/i);
  if (!m) throw new Error('the preview has no multipart boundary');
  const enc = new TextEncoder();
  const dashes = enc.encode('--' + m[1].replace(/^--/, ''));
  const crlf2 = enc.encode('\r\n\r\n');
  const reader = res.body.getReader();
  let buf = new Uint8Array(0);
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    const nb = new Uint8Array(buf.length + value.length);
    nb.set(buf);
    nb.set(value, buf.length);
    buf = nb;
    for (;;) {
      const b = indexOf(buf, dashes, 0);
      if (b < 0) break;
      const he = indexOf(buf, crlf2, b);
      if (he < 0) break;
      const headers = new TextDecoder().decode(buf.subarray(b, he));
      const cl = headers.match(/content-length:\s*(\d+)/i);
      const start = he + 4;
      let end;
      if (cl) {
        end = start + Number(cl[1]);
        if (buf.length < end) break;
      } else {
        end = indexOf(buf, dashes, start);
        if (end < 0) break;
        if (buf[end - 2] === 13 && buf[end - 1] === 10) end -= 2;
      }
      onFrame(buf.slice(start, end));
      buf = buf.slice(end);
    }
  }
}

// readSSE reads text/event-stream from res and calls onEvent({id, event, data}) for each event.
async function readSSE(res, onEvent) {
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  let ev = { data: [] };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    text += value;
    let nl;
    while ((nl = text.search(/\r\n|\n|\r/)) >= 0) {
      if (nl === text.length - 1 && text[nl] === '\r') break; // a CR at the end of a chunk may be half of CRLF
      const line = text.slice(0, nl);
      text = text.slice(nl + (text[nl] === '\r' && text[nl + 1] === '\n' ? 2 : 1));
      if (line === '') {
        if (ev.data.length) onEvent({ id: ev.id, event: ev.event || 'message', data: ev.data.join('\n') });
        ev = { data: [] };
        continue;
      }
      if (line.startsWith(':')) continue; // comment (ping)
      const i = line.indexOf(':');
      const k = i < 0 ? line : line.slice(0, i);
      let v = i < 0 ? '' : line.slice(i + 1);
      if (v.startsWith(' ')) v = v.slice(1);
      if (k === 'data') ev.data.push(v);
      else if (k === 'event') ev.event = v;
      else if (k === 'id') ev.id = v;
    }
  }
}

async function viewLive(id) {
  if (!needRole('operator', 'Live view', 'see video streams')) return;
  const sp = `/v1/streams/${encodeURIComponent(id)}`;
  const [s, gnames] = await Promise.all([api('GET', sp), galleryNames()]);
  const img = h('img', { class: 'preview', alt: `Live preview of ${s.name}: faces boxed, names and scores of matches in green, unknown faces in amber`, width: 640, height: 360 });
  const previewMsg = h('p', { class: 'note', role: 'status' }, 'Connecting to the preview…');
  const statusLine = h('p', { class: 'hint', 'aria-live': 'off' });
  const feedErr = h('div', { class: 'error', role: 'alert' });
  const feed = h('ol', { class: 'feed', role: 'log', 'aria-label': 'Events, newest first', 'aria-live': 'polite' });
  const crowd = h('dl', { class: 'meta', hidden: true });
  const showStatus = (st) => {
    statusLine.textContent = `${STATES[st.state] || st.state}; ${fmtRate(st.fps_in)} frames/s in, ${fmtRate(st.fps_analysed)} analysed, ${st.frames_dropped || 0} dropped; ${st.faces_in_view || 0} faces in view${st.last_error ? '; last error: ' + st.last_error : ''}`;
  };
  showStatus(s.status || {});
  page(`Live: ${s.name}`, h('p', { class: 'crumbs' }, h('a', { href: '/streams' }, 'Streams'), ' › ', s.name), '$h1',
    h('p', { class: 'hint' }, 'Source ', h('code', { class: 'src' }, s.source), `; gallery ${s.gallery ? gnames[s.gallery] || s.gallery : 'none'}. Nothing of the preview is stored.`),
    h('div', { class: 'live-layout' },
      h('section', { 'aria-labelledby': 'pv-h' }, h('h2', { id: 'pv-h' }, 'Preview'), img, previewMsg, statusLine,
        h('h2', {}, 'Crowd'), crowd, h('p', { class: 'note', id: 'crowd-none' }, 'Crowd figures appear at the end of each interval.'),
        h('p', {}, h('a', { href: `/streams/${encodeURIComponent(s.id)}/crowd` }, `Crowd charts of ${s.name}`))),
      h('section', { 'aria-labelledby': 'feed-h' }, h('h2', { id: 'feed-h' }, 'Events'), feedErr, feed)));
  every(3000, async () => {
    try { showStatus((await api('GET', sp)).status || {}); } catch { /* the feed and preview say more */ }
  });
  // Preview: fetch + multipart parsing (an <img src> could not send the key).
  let lastURL = null;
  let frames = 0;
  let stopped = false;
  cleanups.push(() => { stopped = true; if (lastURL) URL.revokeObjectURL(lastURL); });
  const startPreview = async () => {
    while (!stopped) {
      try {
        const res = await keyFetch(`${sp}/preview`);
        previewMsg.textContent = frames ? 'Live (reconnected).' : 'Waiting for the first frame…';
        await readMJPEG(res, (jpg) => {
          const u = URL.createObjectURL(new Blob([jpg], { type: 'image/jpeg' }));
          img.src = u;
          if (lastURL) URL.revokeObjectURL(lastURL);
          lastURL = u;
          if (++frames === 1) previewMsg.textContent = 'Live.';
          img.dataset.frames = String(frames);
        });
        if (stopped) return;
        previewMsg.textContent = 'The preview stopped (the stream may have ended or restarted); trying again in a few seconds…';
      } catch (e) {
        if (stopped || e.name === 'AbortError' || e.status === 401) return;
        previewMsg.replaceChildren(h('span', { class: 'error' }, 'The preview could not be shown. ', ...explain(e)));
        if (e.status === 403 || e.status === 404) return;
      }
      await new Promise((r) => setTimeout(r, 3000));
    }
  };
  startPreview();
  // Events: fetch + Server-Sent Events parsing (EventSource could not send the key).
  const add = (item) => {
    feed.prepend(item);
    while (feed.children.length > 100) feed.lastChild.remove();
  };
  const onEvent = ({ event, data }) => {
    let e;
    try { e = JSON.parse(data); } catch { return; }
    const t = new Date(e.time || Date.now()).toLocaleTimeString();
    const when = h('time', { datetime: e.time }, t);
    switch (event) {
      case 'track_started':
        add(h('li', { class: 'ev' }, when, ' ', `Track ${e.track} started`)); break;
      case 'track_ended':
        add(h('li', { class: 'ev' }, when, ' ', `Track ${e.track} ended after ${Number(e.dwell_seconds || 0).toFixed(1)} s`)); break;
      case 'match': {
        const m = e.match || {};
        const who = m.display_name || m.external_id || m.subject;
        add(h('li', { class: 'ev match' },
          e.crop_jpeg ? h('img', { class: 'thumb', src: `data:image/jpeg;base64,${e.crop_jpeg}`, alt: `Face of track ${e.track}` }) : null,
          h('div', {}, when, ' ', h('span', { class: 'badge match' }, 'match'), ' ',
            m.gallery && m.subject ? h('a', { href: `/galleries/${encodeURIComponent(m.gallery)}/subjects/${encodeURIComponent(m.subject)}` }, who) : who,
            ` (score ${Number(m.score).toFixed(3)}, threshold ${Number(m.threshold).toFixed(3)}), track ${e.track}`,
            e.alert_id ? h('p', { class: 'note' }, e.alert_new || !e.alert_sightings
              ? ['Watchlist: a person must review this alert in the ', h('a', { href: '/alerts' }, 'review queue'), '.']
              : ['Watchlist: sighting ', String(e.alert_sightings), ' of the alert already waiting in the ', h('a', { href: '/alerts' }, 'review queue'), '.']) : null)));
        break;
      }
      case 'unknown_face':
        add(h('li', { class: 'ev unknown' },
          e.crop_jpeg ? h('img', { class: 'thumb', src: `data:image/jpeg;base64,${e.crop_jpeg}`, alt: `Face of track ${e.track}` }) : null,
          h('div', {}, when, ' ', h('span', { class: 'badge unknown' }, 'unknown'), e.suppressed
            ? [` Track ${e.track}: `, h('span', { class: 'suppressed' }, h('strong', {}, 'suppressed: '), 'looks more like a capture a reviewer rejected for ',
              h('a', { href: `/galleries/${encodeURIComponent(s.gallery)}/subjects/${encodeURIComponent(e.suppressed.subject_id)}` }, 'this person'),
              ` than like their photos (${Number(e.suppressed.score).toFixed(3)} against ${Number(e.suppressed.enrolled_score).toFixed(3)})`)]
            : ` Track ${e.track}: nobody in the gallery reaches the threshold`)));
        break;
      case 'crowd': {
        const c = e.crowd || {};
        crowd.hidden = false;
        document.getElementById('crowd-none')?.remove();
        crowd.replaceChildren(
          h('dt', {}, 'Interval'), h('dd', {}, `${new Date(c.from).toLocaleTimeString()} – ${new Date(c.to).toLocaleTimeString()}`),
          h('dt', {}, 'Faces in view'), h('dd', {}, `mean ${Number(c.faces_mean).toFixed(1)}, max ${c.faces_max}`),
          h('dt', {}, 'People'), h('dd', {}, `${c.unique_people} different (${c.new_tracks} new tracks, ${c.relinked_tracks || 0} of them the same face back)`),
          h('dt', {}, 'Dwell'), h('dd', {}, `mean ${Number(c.dwell_mean_seconds).toFixed(1)} s, max ${Number(c.dwell_max_seconds).toFixed(1)} s (${c.ended_tracks} ended)`));
        break;
      }
      case 'stream_status':
        if (e.status) { showStatus(e.status); add(h('li', { class: 'ev' }, when, ' ', `Stream ${STATES[e.status.state] || e.status.state}`)); }
        break;
      case 'lagged':
        add(h('li', { class: 'ev' }, when, ' ', 'Some events were skipped: this page fell behind.')); break;
      default:
    }
  };
  // A dropped feed reconnects after a few seconds, resuming after the last event seen (the server replays
  // what was missed while it still holds it).
  let lastID = '';
  (async () => {
    while (!stopped) {
      try {
        const q = new URLSearchParams({ stream: s.id });
        if (lastID) q.set('last_event_id', lastID);
        const res = await keyFetch(`/v1/events?${q}`);
        showError(feedErr, null);
        await readSSE(res, (ev) => { if (ev.id) lastID = ev.id; onEvent(ev); });
        if (stopped) return;
        showError(feedErr, 'The event feed closed; reconnecting in a few seconds…');
      } catch (e) {
        if (stopped || e.name === 'AbortError' || e.status === 401) return;
        showError(feedErr, [h('p', {}, 'The event feed could not be read; trying again in a few seconds.'), ...explain(e)]);
        if (e.status === 403 || e.status === 404) return;
      }
      await new Promise((r) => setTimeout(r, 3000));
    }
  })();
}

const ALERT_STATUS = { '': 'Pending and reviewed', pending: 'Pending', confirmed: 'Confirmed', rejected: 'Rejected' };

async function viewAlerts() {
  if (!needRole('operator', 'Review queue', 'review alerts')) return;
  const params = new URLSearchParams(location.search);
  const f = { status: params.get('status') || '', gallery: params.get('gallery') || '', stream: params.get('stream') || '', subject: params.get('subject') || '' };
  if (!ALERT_STATUS[f.status] && f.status) f.status = '';
  const q = (status, limit) => {
    const x = new URLSearchParams();
    if (status) x.set('status', status);
    for (const k of ['gallery', 'stream', 'subject']) if (f[k]) x.set(k, f[k]);
    x.set('limit', String(limit));
    return `/v1/alerts?${x}`;
  };
  const wantPending = !f.status || f.status === 'pending';
  const wantReviewed = f.status !== 'pending';
  const [pending, reviewedList, streams, gals, overdue, nameOf] = await Promise.all([
    wantPending ? api('GET', q('pending', 100)) : { alerts: [] },
    wantReviewed ? api('GET', q(f.status, 100)) : { alerts: [] },
    api('GET', '/v1/streams').catch(() => ({ streams: [] })),
    api('GET', '/v1/galleries').catch(() => ({ galleries: [] })),
    api('GET', '/v1/watchlist/overdue').then((r) => r.entries || [], (e) => (e.status === 401 ? Promise.reject(e) : e)), keyNamer()]);
  const snames = Object.fromEntries((streams.streams || []).map((s) => [s.id, s.name]));
  const gnames = Object.fromEntries((gals.galleries || []).map((g) => [g.id, g.name]));
  const who = (a) => a.subject_display_name || a.subject_external_id || (a.subject_id ? `person ${a.subject_id.slice(0, 8)}` : 'an erased person');
  const subjectHref = (a) => `/galleries/${encodeURIComponent(a.gallery_id)}/subjects/${encodeURIComponent(a.subject_id)}`;
  const subjectLink = (a) => h('a', { href: subjectHref(a) }, who(a));
  const filterHref = (more) => {
    const x = new URLSearchParams();
    for (const [k, v] of Object.entries({ ...f, ...more })) if (v) x.set(k, v);
    return x.toString() ? `/alerts?${x}` : '/alerts';
  };

  // Filters
  const statusSel = field('Status', h('select', { name: 'status' }, Object.entries(ALERT_STATUS).map(([v, t]) => h('option', { value: v, selected: v === f.status }, t))));
  const gallerySel = field('Gallery', h('select', { name: 'gallery' }, h('option', { value: '' }, 'All galleries'),
    (gals.galleries || []).filter((g) => isWatchlist(g) || g.id === f.gallery).map((g) => h('option', { value: g.id, selected: g.id === f.gallery }, g.name))));
  const streamSel = field('Stream', h('select', { name: 'stream' }, h('option', { value: '' }, 'All streams and searches'),
    (streams.streams || []).map((s) => h('option', { value: s.id, selected: s.id === f.stream }, s.name)),
    f.stream && !snames[f.stream] ? h('option', { value: f.stream, selected: true }, `stream ${f.stream}`) : null));
  const subjectName = [...(pending.alerts || []), ...(reviewedList.alerts || [])].find((a) => a.subject_id === f.subject);
  const filterForm = h('form', { class: 'panel filters', role: 'search', 'aria-label': 'Filter alerts', novalidate: true }, statusSel.el, gallerySel.el, streamSel.el,
    f.subject ? h('p', { class: 'field' }, h('strong', {}, 'Person: '), subjectName ? who(subjectName) : f.subject, ' ', h('a', { href: filterHref({ subject: '' }) }, 'All people')) : null,
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Filter'), Object.values(f).some(Boolean) ? h('a', { href: '/alerts' }, 'Clear filters') : null));
  filterForm.addEventListener('submit', (e) => {
    e.preventDefault();
    go(filterHref({ status: statusSel.input.value, gallery: gallerySel.input.value, stream: streamSel.input.value }));
  });

  // Pending alerts: one card each, with the capture beside the enrolled reference photo. Their images come from
  // one batched request (GET /v1/alerts/media), never one per alert.
  const alerts = pending.alerts || [];
  const mediaSlots = []; // {a, cap, ref}
  const cards = alerts.map((a, i) => {
    const note = field('Note (optional)', h('textarea', { name: 'note', rows: 2 }), 'What you checked, such as “different person, checked ID”.');
    const err = h('div', { class: 'error', role: 'alert' });
    const decide = async (decision, btn) => {
      showError(err, null);
      btn.disabled = true;
      try {
        await api('POST', `/v1/alerts/${encodeURIComponent(a.id)}/review`, { json: { decision, note: note.input.value.trim() || undefined } });
        announce(`Alert ${decision === 'confirm' ? 'confirmed' : 'rejected'}.`);
        await render();
      } catch (e) {
        btn.disabled = false;
        showError(err, e.code === 'conflict' ? 'Someone else has already reviewed this alert. Reload the page.' : explain(e));
      }
    };
    const confirmBtn = h('button', { type: 'button' }, 'Confirm');
    const rejectBtn = h('button', { type: 'button', class: 'danger' }, 'Reject');
    confirmBtn.addEventListener('click', () => decide('confirm', confirmBtn));
    rejectBtn.addEventListener('click', () => decide('reject', rejectBtn));
    const hid = `alert-${i}`;
    const cap = h('div', { class: 'thumbbox note' }, a.event_id ? 'Loading…' : 'No crop (a search)');
    const ref = h('div', { class: 'thumbbox note' }, 'Loading…');
    mediaSlots.push({ a, cap, ref });
    const select = h('input', { type: 'checkbox', class: 'pick', value: a.id, 'aria-label': `Select the alert for ${who(a)}, ${fmtDate(a.last_seen || a.created_at)}` });
    const n = a.sightings || 1;
    const facts = [
      h('dt', {}, 'Score'), h('dd', {}, Number(a.score).toFixed(3), n > 1 ? ' (best sighting)' : ''),
      h('dt', {}, 'Sightings'), h('dd', { class: 'sightings' }, String(n)),
      h('dt', {}, n > 1 ? 'First seen' : 'Seen'), h('dd', {}, fmtDate(a.first_seen || a.created_at)),
      n > 1 ? [h('dt', {}, 'Last seen'), h('dd', {}, fmtDate(a.last_seen))] : null,
      h('dt', {}, 'Source'), h('dd', {}, a.stream_id ? [`stream ${a.stream_name || snames[a.stream_id] || a.stream_id}`, a.track ? `, track ${a.track}` : ''] : 'a search'),
      h('dt', {}, 'Gallery'), h('dd', {}, a.gallery_name || gnames[a.gallery_id] || a.gallery_id)];
    return h('li', { class: 'alert-card', 'aria-labelledby': hid, 'data-id': a.id },
      h('div', { class: 'pair' },
        h('figure', {}, cap, h('figcaption', {}, n > 1 ? `Capture (best of ${n})` : 'Capture')),
        h('figure', {}, ref, h('figcaption', {}, 'Enrolled photo'))),
      h('div', {}, h('h3', { id: hid }, h('label', { class: 'check inline' }, select, h('span', { class: 'visually-hidden' }, 'Select')), 'Possible match: ', subjectLink(a)),
        h('dl', { class: 'meta' }, facts),
        h('p', { class: 'hint' }, h('a', { href: filterHref({ subject: a.subject_id, status: '' }) }, `All alerts for ${who(a)}`)),
        note.el, err, h('div', { class: 'actions' }, confirmBtn, rejectBtn)));
  });
  const showMedia = (media) => {
    for (const { a, cap, ref } of mediaSlots) {
      const m = media[a.id] || {};
      if (a.event_id) {
        if (m.crop) cap.replaceWith(h('img', { class: 'crop', src: jpegURL(m.crop), alt: `The matched face as ${a.stream_id ? 'the camera' : 'the search'} saw it` }));
        else cap.replaceChildren(m.crop_state === 'gone' ? 'No crop kept (deleted after the stream’s crop retention, or the stream keeps none)'
          : m.crop_state === 'none' ? 'No capture: raised by a search, whose photo is never kept' : 'No crop');
      }
      if (m.reference) ref.replaceWith(h('img', { class: 'crop ref', src: jpegURL(m.reference), alt: `${who(a)}, as enrolled` }));
      else ref.replaceChildren('No enrolled photo kept');
    }
  };
  const loadMedia = async () => {
    const todo = mediaSlots.filter((x) => x.cap.isConnected || x.ref.isConnected);
    if (!todo.length) return;
    for (const { a, cap, ref } of todo) { if (a.event_id && cap.isConnected) cap.replaceChildren('Loading…'); if (ref.isConnected) ref.replaceChildren('Loading…'); }
    try {
      showMedia(await alertMedia(todo.map((x) => x.a.id)));
    } catch (e) {
      if (e.status === 401) return;
      // A failed request is not an expired crop: say so, and offer to try again.
      for (const { a, cap, ref } of todo) {
        for (const box of a.event_id ? [cap, ref] : [ref]) {
          if (!box.isConnected) continue;
          const retry = h('button', { type: 'button', class: 'link' }, 'Could not load (retry)');
          retry.addEventListener('click', loadMedia);
          box.replaceChildren(retry);
        }
      }
    }
  };

  // Bulk review of the selected pending alerts (POST /v1/alerts/review, up to 100 at once).
  const bulkNote = field('Note for the selected alerts (optional)', h('input', { type: 'text', name: 'bulk_note', autocomplete: 'off' }));
  const bulkErr = h('div', { class: 'error', role: 'alert' });
  const count = h('span', { role: 'status', class: 'hint' }, 'None selected.');
  const all = h('input', { type: 'checkbox', 'aria-label': 'Select all pending alerts on this page' });
  const bulkConfirm = h('button', { type: 'button', disabled: true }, 'Confirm selected');
  const bulkReject = h('button', { type: 'button', class: 'danger', disabled: true }, 'Reject selected');
  const picked = () => cards.map((c) => c.querySelector('input.pick')).filter((x) => x.checked).map((x) => x.value);
  const sync = () => {
    const n = picked().length;
    count.textContent = n ? `${n} selected.` : 'None selected.';
    bulkConfirm.disabled = bulkReject.disabled = !n;
    bulkConfirm.textContent = n ? `Confirm selected (${n})` : 'Confirm selected';
    bulkReject.textContent = n ? `Reject selected (${n})` : 'Reject selected';
    all.checked = n > 0 && n === cards.length;
    all.indeterminate = n > 0 && n < cards.length;
  };
  all.addEventListener('change', () => { for (const c of cards) c.querySelector('input.pick').checked = all.checked; sync(); });
  for (const c of cards) c.querySelector('input.pick').addEventListener('change', sync);
  const bulk = async (decision) => {
    const ids = picked();
    showError(bulkErr, null);
    bulkConfirm.disabled = bulkReject.disabled = true;
    try {
      const out = await api('POST', '/v1/alerts/review', { json: { ids, decision, note: bulkNote.input.value.trim() || undefined } });
      const failed = (out.results || []).filter((r) => r.error);
      const done = ids.length - failed.length;
      const verb = decision === 'confirm' ? 'confirmed' : 'rejected';
      announce(`${done} ${done === 1 ? 'alert' : 'alerts'} ${verb}.`);
      if (!failed.length) { await render(); return; }
      await render();
      main.querySelector('#bulk-err')?.replaceChildren(h('p', {}, `${done} ${verb}; ${failed.length} not:`),
        h('ul', {}, failed.map((r) => h('li', {}, `${r.id}: ${r.error.code === 'conflict' ? 'already reviewed by someone else' : r.error.message}`))));
    } catch (e) {
      showError(bulkErr, explain(e));
      sync();
    }
  };
  bulkConfirm.addEventListener('click', () => bulk('confirm'));
  bulkReject.addEventListener('click', () => bulk('reject'));
  bulkErr.id = 'bulk-err';
  const bulkBar = h('div', { class: 'panel bulk', role: 'group', 'aria-label': 'Review the selected alerts together' },
    h('label', { class: 'check' }, all, 'Select all on this page'), bulkNote.el,
    h('div', { class: 'actions' }, bulkConfirm, bulkReject, count), bulkErr);

  // Reviewed alerts
  const reviewed = (reviewedList.alerts || []).filter((a) => a.status !== 'pending');
  const reviewedTable = reviewed.length ? h('div', { class: 'table-wrap' }, h('table', { id: 'reviewed' }, h('caption', { class: 'visually-hidden' }, 'Reviewed alerts'),
    h('thead', {}, h('tr', {}, ['Person', 'Decision', 'Score', 'Sightings', 'Raised', 'Reviewed', 'By', 'Note'].map((t) => h('th', { scope: 'col',
      class: [t === 'Score' || t === 'Sightings' ? 'num' : '', t === 'Sightings' || t === 'Raised' ? 'hide-narrow' : ''].join(' ').trim() || null }, t)))),
    h('tbody', {}, reviewed.map((a) => h('tr', {},
      h('td', {}, subjectLink(a)),
      h('td', {}, h('span', { class: `badge ${a.status === 'confirmed' ? 'match' : 'unknown'}` }, a.status === 'confirmed' ? 'Confirmed' : 'Rejected')),
      h('td', { class: 'num' }, Number(a.score).toFixed(3)),
      h('td', { class: 'num hide-narrow' }, a.sightings || 1),
      h('td', { class: 'hide-narrow' }, fmtDate(a.first_seen || a.created_at)), h('td', {}, fmtDate(a.reviewed_at)), h('td', {}, nameOf(a.reviewed_by, a.reviewed_by_name)), h('td', {}, a.note || '')))))) : h('p', { class: 'note' }, 'No reviewed alert matches.');

  page('Review queue', h('p', {}, 'A match against a watchlist is never acted on by itself: a person decides whether it is the same person. Sightings of the same person on the same stream within the cool-down are grouped into one alert.'),
    filterForm,
    wantPending ? [h('h2', {}, `Pending (${cards.length})`),
      cards.length ? [bulkBar, h('ul', { class: 'alerts' }, cards)] : h('p', { class: 'note' }, 'Nothing to review.'),
      h('p', { class: 'hint' }, 'Confirm: it is this person. Reject: it is not; a later face is not matched to them when it looks more like this capture than like their enrolled photos. A rejection is listed on the person’s page, where it can be undone.')] : null,
    wantReviewed ? [h('h2', {}, 'Reviewed'), reviewedTable] : null,
    overdueSection(overdue, nameOf));
  if (mediaSlots.length) loadMedia();
}

// overdueSection lists watchlist entries past their review date (GET /v1/watchlist/overdue), each with a new
// review date to extend it (PATCH the subject's watch) or an erasure (after a confirmation).
function overdueSection(entries, nameOf) {
  const head = h('h2', { id: 'overdue-h' }, 'Watchlist entries past their review date');
  if (!Array.isArray(entries)) {
    const e = entries;
    return [head, h('div', { class: 'error', role: 'alert' }, h('p', {}, 'The overdue entries could not be loaded.'), e instanceof APIError ? explain(e) : null)];
  }
  if (!entries.length) return [head, h('p', { class: 'note' }, 'None: every watchlist entry is within its review date.')];
  const rows = entries.map((en) => {
    const s = en.subject || {};
    const w = s.watch || {};
    const name = s.display_name || s.external_id || s.id;
    const sp = `/v1/galleries/${encodeURIComponent(en.gallery_id)}/subjects/${encodeURIComponent(s.id)}`;
    const date = h('input', { type: 'date', value: toDateInput(new Date(Date.now() + 90 * 86400e3).toISOString()), 'aria-label': `New review date for ${name}` });
    const extend = h('button', { type: 'button', class: 'secondary' }, `Extend ${name}`);
    const erase = h('button', { type: 'button', class: 'danger' }, `Erase ${name}…`);
    const err = h('div', { class: 'error', role: 'alert' });
    const cell = h('td', {}, h('div', { class: 'row-actions wrap' }, date, extend, erase), err);
    const row = h('tr', {},
      h('td', {}, h('a', { href: `/galleries/${encodeURIComponent(en.gallery_id)}/subjects/${encodeURIComponent(s.id)}` }, name)),
      h('td', {}, en.gallery_name || en.gallery_id), h('td', { class: 'wrap' }, w.reason || ''),
      h('td', {}, w.review_at ? new Date(w.review_at).toLocaleDateString() : '—'), h('td', {}, nameOf(w.added_by, w.added_by_name)), cell);
    extend.addEventListener('click', async () => {
      showError(err, null);
      if (!date.value || new Date(fromDateInput(date.value)) <= new Date()) { showError(err, 'Choose a review date in the future.'); return; }
      extend.disabled = true;
      try {
        const u = await api('PATCH', sp, { json: { watch: { reason: w.reason, review_at: fromDateInput(date.value) } } });
        const text = `${name}: next review on ${new Date(u.watch.review_at).toLocaleDateString()}.`;
        row.replaceChildren(h('td', { colspan: 6, class: 'ok', role: 'status' }, text));
        announce(text);
      } catch (e) { extend.disabled = false; showError(err, explain(e)); }
    });
    erase.addEventListener('click', () => {
      const yes = h('button', { type: 'button', class: 'danger' }, `Yes, erase ${name}`);
      const no = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
      const box = h('div', { class: 'confirm' }, h('p', {}, h('strong', {}, `Erase ${name} permanently?`), ' Their faces, crops and alerts are deleted now.'), h('div', { class: 'actions' }, yes, no));
      err.replaceChildren();
      cell.append(box);
      no.addEventListener('click', () => { box.remove(); erase.focus(); });
      yes.addEventListener('click', async () => {
        yes.disabled = true;
        try {
          await api('DELETE', sp);
          row.replaceChildren(h('td', { colspan: 6, class: 'ok', role: 'status' }, `${name} was erased.`));
          announce(`${name} was erased.`);
        } catch (e) { yes.disabled = false; showError(err, explain(e)); }
      });
      no.focus();
    });
    return row;
  });
  // An admin may erase them all at once (POST /v1/watchlist/overdue/expire), after a confirmation.
  let all = null;
  if (can('admin')) {
    const n = entries.length;
    const btn = h('button', { type: 'button', class: 'danger' }, n === 1 ? 'Erase the overdue entry…' : `Erase all ${n} overdue entries…`);
    const box = h('div', {});
    btn.addEventListener('click', () => {
      const yes = h('button', { type: 'button', class: 'danger' }, `Yes, erase ${n} ${n === 1 ? 'person' : 'people'}`);
      const no = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
      const err = h('div', { class: 'error', role: 'alert' });
      box.replaceChildren(h('div', { class: 'confirm' }, h('p', {}, h('strong', {}, `Erase every watchlist entry past its review date (${n})?`),
        ' Each person is erased with their faces, crops, alerts and rejections, as Erase on their page does. Entries extended since this page was loaded are kept.'),
      h('div', { class: 'actions' }, yes, no), err));
      btn.disabled = true;
      no.addEventListener('click', () => { box.replaceChildren(); btn.disabled = false; btn.focus(); });
      yes.addEventListener('click', async () => {
        yes.disabled = true;
        try {
          const out = await api('POST', '/v1/watchlist/overdue/expire');
          const k = (out.erased || []).length;
          announce(`${k} overdue ${k === 1 ? 'entry' : 'entries'} erased.`);
          await render();
        } catch (e) { yes.disabled = false; showError(err, explain(e)); }
      });
      no.focus();
    });
    all = [h('div', { class: 'actions' }, btn), box];
  }
  return [head, h('p', { class: 'hint' }, 'Each entry must be looked at again by its review date: extend it if it is still needed, or erase the person.'),
    h('div', { class: 'table-wrap' }, h('table', { id: 'overdue' }, h('caption', { class: 'visually-hidden' }, 'Watchlist entries past their review date'),
      h('thead', {}, h('tr', {}, ['Person', 'Gallery', 'Reason', 'Review date', 'Added by', 'Action'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows))), all];
}

async function viewAudit() {
  if (!needRole('admin', 'Audit log', 'read the audit log')) return;
  const params = new URLSearchParams(location.search);
  const qs = new URLSearchParams();
  for (const k of ['actor', 'action', 'from', 'to']) if (params.get(k)) qs.set(k, params.get(k));
  const filters = new URLSearchParams(qs);
  if (params.get('after')) qs.set('after', params.get('after'));
  qs.set('limit', '50');
  let list = null;
  let listErr = null;
  const [rep] = await Promise.all([api('GET', '/v1/audit/verify'),
    api('GET', `/v1/audit?${qs}`).then((l) => { list = l; }, (e) => { listErr = e; })]);
  const verify = rep.ok
    ? h('div', { class: 'verify ok-box', role: 'status' }, h('p', {}, h('strong', { class: 'ok' }, 'OK'),
      `: the chain of ${rep.entries} entries is intact (${rep.checkpoints} signed checkpoints${rep.signatures_checked ? ', signatures checked' : ''}).`))
    : h('div', { class: 'verify bad-box', role: 'alert' }, h('p', {}, h('strong', {}, 'FAILED'),
      `: ${(rep.problems || []).length + (rep.omitted || 0)} problems in ${rep.entries} entries. The log has been changed after it was written.`),
    h('ul', {}, (rep.problems || []).map((p) => h('li', {}, `Entry ${p.seq} (${p.kind}): ${sentence(p.message)}`))),
    rep.omitted ? h('p', {}, `${rep.omitted} more not listed.`) : null);
  const toLocal = (v) => { if (!v) return ''; const d = new Date(v); return isNaN(d) ? '' : new Date(d - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16); };
  const actor = field('Actor', h('input', { type: 'text', name: 'actor', autocomplete: 'off', value: params.get('actor') || '' }), 'A key id, stream/<id> or system.');
  const action = field('Action', h('input', { type: 'text', name: 'action', autocomplete: 'off', value: params.get('action') || '' }), 'Such as POST /v1/alerts/{id}/review or stream.match.');
  const from = field('From', h('input', { type: 'datetime-local', name: 'from', value: toLocal(params.get('from')) }));
  const to = field('To', h('input', { type: 'datetime-local', name: 'to', value: toLocal(params.get('to')) }));
  const form = h('form', { class: 'panel filters', role: 'search', novalidate: true }, actor.el, action.el, from.el, to.el,
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Filter'), filters.toString() ? h('a', { href: '/audit' }, 'Clear filters') : null));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clearErrors(form);
    const q = new URLSearchParams();
    if (actor.input.value.trim()) q.set('actor', actor.input.value.trim());
    if (action.input.value.trim()) q.set('action', action.input.value.trim());
    if (from.input.value) q.set('from', new Date(from.input.value).toISOString());
    if (to.input.value) q.set('to', new Date(to.input.value).toISOString());
    if (from.input.value && to.input.value && from.input.value > to.input.value) return showError(to, '“To” must be after “From”.');
    go(q.toString() ? `/audit?${q}` : '/audit');
  });
  if (listErr) {
    const target = /^from\b/.test(listErr.message) ? from : /^to\b/.test(listErr.message) ? to : null;
    if (target) showError(target, explain(listErr));
  }
  const exportErr = h('div', { class: 'error', role: 'alert' });
  const exportBtn = h('button', { type: 'button', class: 'secondary' }, 'Export as JSON lines (download)');
  exportBtn.addEventListener('click', async () => {
    showError(exportErr, null);
    const q = new URLSearchParams(filters);
    q.set('format', 'jsonl');
    try {
      const res = await api('GET', `/v1/audit?${q}`, { blob: true });
      download(URL.createObjectURL(await res.blob()), `facegate-audit-${new Date().toISOString().slice(0, 10)}.jsonl`);
      announce('Audit export downloaded.');
    } catch (e) {
      showError(exportErr, explain(e));
    }
  });
  const entries = (list && list.entries) || [];
  const details = (d) => Object.entries(d || {}).map(([k, v]) => `${k}=${v}`).join(', ');
  const table = listErr ? h('div', { class: 'error', role: 'alert' }, explain(listErr))
    : entries.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'audit' }, h('caption', { class: 'visually-hidden' }, 'Audit entries, oldest first'),
      h('thead', {}, h('tr', {}, ['#', 'Time', 'Actor', 'Action', 'Target', 'Outcome', 'Details'].map((t) => h('th', { scope: 'col', class: t === '#' ? 'num' : null }, t)))),
      h('tbody', {}, entries.map((e) => h('tr', {},
        h('td', { class: 'num' }, e.seq), h('td', {}, fmtDate(e.time)), h('td', {}, h('code', {}, e.actor)), h('td', {}, e.action),
        h('td', { class: 'wrap' }, e.target || ''), h('td', {}, e.outcome), h('td', { class: 'wrap' }, details(e.details)))))))
      : h('p', { class: 'note' }, filters.toString() ? 'No entry matches these filters.' : 'The log is empty.');
  const f = filters.toString();
  const pager = h('div', { class: 'actions' },
    params.get('after') ? h('a', { href: f ? `/audit?${f}` : '/audit' }, 'First page') : null,
    list && list.next_after ? h('a', { href: `/audit?${f ? f + '&' : ''}after=${list.next_after}` }, 'Next page') : null);
  page('Audit log', h('h2', {}, 'Verification'), verify, h('h2', {}, 'Entries'), form, h('div', { class: 'actions' }, exportBtn), exportErr, table, pager);
}

render();
