// The dashboard of `webhook-guard serve`: the list of attempts (live over
// server-sent events), one attempt's page, and the play form. Plain DOM,
// no framework: text always goes in through textContent, never as HTML, since
// bodies and headers come from receivers and callers.
'use strict';

const $ = (selector) => document.querySelector(selector);

// Rows kept in the table at most: the journal's limit, capped by the
// server's page size (set from the first page's answer).
// `shown`: the id of the attempt on screen (null on the list); `shownChain`:
// its vendor and delivery, whose new attempts show it again.
const state = {
  maxRows: 500, newest: 0, kept: 0, total: 0, source: null, shown: null, shownChain: null,
};

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (name === 'class') node.className = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

async function fetchJSON(url, options) {
  const response = await fetch(url, options);
  let body = null;
  try { body = await response.json(); } catch (_) { body = null; }
  if (!response.ok) {
    throw new Error((body && body.error) || `${response.status} ${response.statusText}`);
  }
  return body;
}

// ---- the list -------------------------------------------------------------

function filters() {
  return {
    vendor: $('#filter-vendor').value,
    event: $('#filter-event').value.trim(),
    outcome: $('#filter-outcome').value,
  };
}

function matches(attempt) {
  const f = filters();
  return (!f.vendor || f.vendor === attempt.vendor)
    && (!f.event || f.event === attempt.event)
    && (!f.outcome || f.outcome === attempt.outcome);
}

function time(seconds) {
  return new Date(seconds * 1000).toISOString().slice(11, 19);
}

function statusCell(attempt) {
  if (attempt.status === null || attempt.status === undefined) {
    return el('td', { class: 'none', title: attempt.failure || '' }, 'none');
  }
  return el('td', { class: 's' + String(attempt.status)[0] }, attempt.status);
}

function row(attempt) {
  const tags = [];
  if (attempt.replay_of !== null && attempt.replay_of !== undefined) {
    tags.push(el('span', { class: 'tag' }, `replay of ${attempt.replay_of}`));
  }
  const tr = el('tr', { 'data-id': attempt.id, 'data-status': attempt.status ?? '' },
    el('td', {}, attempt.id),
    el('td', {}, time(attempt.sent_at)),
    el('td', {}, attempt.vendor),
    el('td', {}, attempt.event, ...tags),
    el('td', { class: 'url', title: attempt.url }, attempt.url),
    el('td', {}, attempt.copy > 1 ? `${attempt.attempt} (copy ${attempt.copy})` : attempt.attempt),
    statusCell(attempt),
    el('td', {}, `${attempt.latency_ms.toFixed(1)} ms`),
    el('td', {}, attempt.outcome),
    el('td', {}, attempt.faults.join(', ')),
  );
  tr.addEventListener('click', () => { location.hash = `#attempt-${attempt.id}`; });
  return tr;
}

function showCounts() {
  $('#counts').textContent = `${state.kept} kept of ${state.total} attempts`;
  $('#empty').hidden = $('#attempts tbody').rows.length > 0;
}

// A new attempt from the stream: on top, the oldest row dropped past the cap.
// One already listed (a reload of the list raced the stream) is not added twice.
function addNewest(attempt) {
  const body = $('#attempts tbody');
  if (body.querySelector(`tr[data-id="${attempt.id}"]`)) return;
  state.newest = Math.max(state.newest, attempt.id);
  state.total = Math.max(state.total, attempt.id);
  state.kept = Math.min(state.kept + 1, state.journalLimit ?? Infinity);
  if (matches(attempt)) {
    body.prepend(row(attempt));
    while (body.rows.length > state.maxRows) body.lastElementChild.remove();
  }
  showCounts();
  if (state.shown !== null) refreshChain(attempt);
}

async function loadList() {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(filters())) if (value) query.set(name, value);
  query.set('limit', String(state.maxRows));
  const page = await fetchJSON(`/emulator/attempts?${query}`);
  state.journalLimit = page.journal_limit;
  state.maxRows = Math.max(1, Math.min(page.journal_limit, page.page_limit));
  state.kept = page.kept;
  state.total = page.total;
  state.newest = Math.max(state.newest, page.newest_id);
  $('#attempts tbody').replaceChildren(...page.attempts.map(row));
  showCounts();
}

// The live stream. The browser reconnects by itself after a dropped
// connection, sending the last id seen as `Last-Event-ID` (which the server
// prefers to the `after` of the URL); when it gives up (the server answered
// something else than a stream), a new one is opened after a pause.
function connect() {
  if (state.source) state.source.close();
  const source = new EventSource(`/emulator/attempts/stream?after=${state.newest}`);
  source.addEventListener('attempt', (event) => addNewest(JSON.parse(event.data)));
  source.addEventListener('open', () => {
    $('#live').textContent = 'live';
    $('#live').className = 'badge live';
  });
  source.addEventListener('error', () => {
    $('#live').textContent = 'reconnecting';
    $('#live').className = 'badge down';
    if (source.readyState === EventSource.CLOSED && state.source === source) {
      setTimeout(() => { if (state.source === source) connect(); }, 3000);
    }
  });
  state.source = source;
}

// ---- one attempt ----------------------------------------------------------

function hex(base64) {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  const lines = [];
  for (let at = 0; at < bytes.length; at += 16) {
    const chunk = Array.from(bytes.slice(at, at + 16));
    lines.push(at.toString(16).padStart(6, '0') + '  '
      + chunk.map((b) => b.toString(16).padStart(2, '0')).join(' '));
  }
  return lines.join('\n');
}

// A body as text, or as hex when it is not UTF-8 (the JSON has `<key>_base64`).
function bytesBlock(object, key) {
  if (typeof object[key] === 'string') {
    return object[key] === '' ? el('p', { class: 'hint' }, '(empty)') : el('pre', {}, object[key]);
  }
  if (typeof object[`${key}_base64`] === 'string') {
    return el('div', {}, el('p', { class: 'hint' }, 'not UTF-8, shown in hex:'),
      el('pre', {}, hex(object[`${key}_base64`])));
  }
  return el('p', { class: 'hint' }, '(none)');
}

function headerTable(pairs) {
  if (!pairs.length) return el('p', { class: 'hint' }, '(no headers)');
  return el('table', { class: 'headers' },
    el('tbody', {}, ...pairs.map(([name, value]) => el('tr', {}, el('td', {}, name), el('td', {}, value)))));
}

function chainBlock(attempt) {
  const links = attempt.chain.map((id) => id === attempt.id
    ? el('strong', {}, `#${id}`)
    : el('a', { href: `#attempt-${id}` }, `#${id}`));
  const items = [];
  links.forEach((link, i) => { if (i) items.push(' \u2192 '); items.push(link); });
  return el('p', { id: 'chain' }, ...items);
}

const SCHEMES = { api2cart: 'api2cart', up42: 'up42', standard: 'standard' };

function renderDetail(attempt) {
  $('#detail-title').textContent =
    `Attempt #${attempt.id}: ${attempt.vendor} ${attempt.event}, try ${attempt.attempt} of delivery ${attempt.delivery}`;
  const base = `/emulator/attempts/${attempt.id}`;
  $('#action-export-request').href = `${base}/export/request`;
  $('#action-export').href = `${base}/export`;
  $('#action-export-body').href = `${base}/export/body`;
  $('#action-curl').href = `${base}/curl`;
  const scheme = SCHEMES[attempt.vendor];
  $('#verify-hint').textContent = scheme
    ? `webhook-guard verify --scheme ${scheme} --secret-env SECRET --headers-file attempt-${attempt.id}.headers --body-file attempt-${attempt.id}.body`
    : 'AmeriCommerce deliveries are unsigned (the receiver checks a URL token): nothing for verify to check.';
  const response = attempt.response;
  const answer = response
    ? el('div', {},
      el('dl', {}, el('dt', {}, 'status'), el('dd', { id: 'response-status' }, response.status)),
      headerTable(response.headers),
      bytesBlock(response, 'body'),
      response.truncated ? el('p', { class: 'note' }, 'The answer was longer: only its first 64 KiB were kept.') : null)
    : el('p', { class: 'none' }, `No answer: ${attempt.failure ? attempt.failure.message : 'unknown'}`);
  const facts = [
    ['sent at', `${new Date(attempt.sent_at * 1000).toISOString()} (${attempt.sent_at})`],
    ['outcome', attempt.outcome],
    ['latency', `${attempt.latency_ms} ms`],
    ['endpoint', attempt.endpoint ?? '-'],
    ['faults', attempt.faults.length ? attempt.faults.join(', ') : 'none'],
  ];
  if (attempt.replay_of !== undefined) facts.push(['replay of', `#${attempt.replay_of}`]);
  $('#detail').replaceChildren(
    el('dl', {}, ...facts.flatMap(([name, value]) => [el('dt', {}, name), el('dd', {}, value)])),
    el('h3', {}, 'Retry chain (this vendor, this delivery)'),
    chainBlock(attempt),
    el('h3', {}, 'Request as sent'),
    el('p', {}, el('code', {}, `POST ${attempt.request.url}`)),
    headerTable(attempt.request.headers),
    el('h3', {}, 'Body'),
    bytesBlock(attempt.request, 'body'),
    el('h3', {}, 'Signed string'),
    bytesBlock(attempt.request, 'signed_string'),
    el('h3', {}, 'Answer'),
    answer,
  );
}

async function show(id) {
  state.shown = id;
  state.shownChain = null;
  $('#list-view').hidden = true;
  $('#detail-view').hidden = false;
  $('#action-answer').hidden = true;
  await render(id);
}

// Fetches attempt `id` and shows it, unless another one was opened meanwhile.
async function render(id) {
  try {
    const attempt = await fetchJSON(`/emulator/attempts/${id}`);
    if (state.shown !== id) return;
    state.shownChain = { vendor: attempt.vendor, delivery: attempt.delivery };
    renderDetail(attempt);
  } catch (error) {
    if (state.shown !== id) return;
    $('#detail-title').textContent = `Attempt #${id}`;
    $('#detail').replaceChildren(el('p', { class: 'none' }, error.message));
  }
}

// A new attempt of the shown one's chain (a retry, a replay): the page is
// drawn again to list it, leaving the answer of an action in view.
function refreshChain(attempt) {
  const chain = state.shownChain;
  if (chain && attempt.vendor === chain.vendor && attempt.delivery === chain.delivery) {
    render(state.shown);
  }
}

function route() {
  const match = /^#attempt-(\d+)$/.exec(location.hash);
  if (match) {
    show(Number(match[1]));
  } else {
    state.shown = null;
    $('#detail-view').hidden = true;
    $('#list-view').hidden = false;
  }
}

async function act(kind) {
  const out = $('#action-answer');
  out.hidden = false;
  out.textContent = `${kind}...`;
  try {
    const answer = await fetchJSON(`/emulator/attempts/${state.shown}/${kind}`, { method: 'POST' });
    if (kind === 'replay') {
      const a = answer.attempt;
      out.textContent = `Replayed as attempt #${a.id}: ${a.status ?? 'no answer'} (${a.outcome})`;
      out.dataset.status = a.status ?? '';
    } else {
      out.textContent = answer.attempts.length
        ? `Resent as attempt(s) ${answer.attempts.map((id) => `#${id}`).join(', ')}`
        : 'Resent: nothing was sent (no subscription, or a cached reply)';
    }
  } catch (error) {
    out.textContent = `${kind} failed: ${error.message}`;
  }
}

// ---- the play form --------------------------------------------------------

const TEMPLATES = {
  api2cart: {
    path: '/v1.0/emulator/event.json',
    body: { entity: 'product', action: 'add', data: { id: '86', name: 'Cable', price: 9 } },
    hint: 'delivered to every active webhook for the entity and action (webhook.create.json)',
  },
  americommerce: {
    path: '/api/v1/emulator/events',
    body: { event_type: 'OrderPlaced', data: { OrderId: 1001, Total: 25.5 } },
    hint: 'delivered to every webhook for the event type (POST /api/v1/webhooks)',
  },
  up42: {
    path: '/workspaces/WORKSPACE/webhooks/WEBHOOK_ID/tests',
    body: { event: 'job.status' },
    hint: 'put the workspace and webhook id in the path',
  },
  standard: {
    path: '/standard/endpoints/ENDPOINT_ID/messages',
    body: { eventType: 'invoice.paid', payload: { id: 'in_1', amount: 1200 } },
    hint: 'put the endpoint id in the path (the first endpoint is filled in when there is one)',
  },
};

async function fillTemplate() {
  const vendor = $('#play-vendor').value;
  const template = TEMPLATES[vendor];
  let path = template.path;
  if (vendor === 'standard') {
    try {
      const endpoints = await fetchJSON('/standard/endpoints');
      if (endpoints.data.length) path = path.replace('ENDPOINT_ID', endpoints.data[0].id);
    } catch (_) { /* the placeholder stays */ }
  }
  $('#play-path').value = path;
  $('#play-body').value = JSON.stringify(template.body, null, 2);
  $('#play-hint').textContent = template.hint;
}

async function play(event) {
  event.preventDefault();
  const out = $('#play-answer');
  out.hidden = false;
  out.textContent = 'playing...';
  try {
    const response = await fetch($('#play-path').value, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: $('#play-body').value,
    });
    const text = await response.text();
    out.textContent = `${response.status}\n${text.length > 4000 ? `${text.slice(0, 4000)}\n(cut)` : text}`;
  } catch (error) {
    out.textContent = `failed: ${error.message}`;
  }
}

// ---- start ----------------------------------------------------------------

async function start() {
  for (const id of ['#filter-vendor', '#filter-outcome']) $(id).addEventListener('change', loadList);
  $('#filter-event').addEventListener('change', loadList);
  $('#filters').addEventListener('submit', (event) => { event.preventDefault(); loadList(); });
  $('#play-vendor').addEventListener('change', fillTemplate);
  $('#play-form').addEventListener('submit', play);
  $('#action-replay').addEventListener('click', () => act('replay'));
  $('#action-resend').addEventListener('click', () => act('resend'));
  window.addEventListener('hashchange', route);
  // An attempt's page opened directly (`/#attempt-7`) does not wait for the list.
  route();
  fillTemplate();
  try {
    await loadList();
  } catch (error) {
    $('#counts').textContent = `cannot list attempts: ${error.message}`;
  }
  connect();
}

start();
