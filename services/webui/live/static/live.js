// The /live demo: the camera goes to a stickerd edge through the browser
// SDK and comes back with stickers composited. Stickers are added from the
// built-in palette or as text, and dragged over the video; each move is an
// update op on the control channel, at most ~30 a second per sticker.

import { connect } from './stickerd-rtc.js';

const KEY_STORAGE = 'stickerd.apiKey'; // shared with the studio at "/"
const UPDATE_INTERVAL_MS = 33;
const DEFAULT_WIDTH = 0.25;
const MAX_ERRORS = 4;

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/**
 * @typedef {object} Sticker what the page knows of one sticker, to draw its
 *   handle and send its moves.
 * @property {string} id
 * @property {'image' | 'text'} kind
 * @property {string} label
 * @property {number} x
 * @property {number} y
 * @property {number} width image: fraction of the frame width
 * @property {number} aspect image: height / width of the picture
 * @property {string} [text]
 * @property {number} [size] text: fraction of the frame height
 * @property {HTMLElement} handle
 * @property {boolean} dirty a move waits to be sent
 * @property {number} lastSent performance.now() of the last update sent
 * @property {ReturnType<typeof setTimeout> | null} timer
 */

const state = {
  /** @type {import('./stickerd-rtc.js').Session | null} */
  session: null,
  /** @type {MediaStream | null} */
  camera: null,
  connected: false,
  starting: false,
  /** @type {Map<string, Sticker>} */
  stickers: new Map(),
  /** @type {string | null} */
  selected: null,
  nextID: 1,
  /** @type {Map<string, {width: number, height: number}>} */
  catalogue: new Map(),
  /** @type {import('./stickerd-rtc.js').Stats | null} */
  stats: null,
  /** @type {{code: string, message: string}[]} */
  errors: [],
  acks: 0,
};

// ---- connection ----

async function start() {
  if (state.starting || state.session) return;
  state.starting = true;
  setStatus('Asking for the camera…');
  $('start').hidden = true;
  try {
    if (!state.camera) {
      state.camera = await navigator.mediaDevices.getUserMedia({
        video: { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 30 } }, audio: false,
      });
      /** @type {HTMLVideoElement} */ ($('local')).srcObject = state.camera;
    }
    setStatus('Connecting to the edge…');
    state.session = await connect('', state.camera, {
      apiKey: apiKey(),
      onTrack(remote) {
        const video = /** @type {HTMLVideoElement} */ ($('remote'));
        video.srcObject = remote;
        video.play().catch(() => { /* autoplay of a muted video is allowed; a refusal shows a still frame */ });
      },
      onConnected() { state.connected = true; },
      onStickerAck() { state.acks++; },
      onStats: showStats,
      onError: (e) => showError(e),
      onDisconnected(reason) {
        state.connected = false;
        state.session = null;
        for (const st of state.stickers.values()) dropSticker(st); // a new session starts bare
        setControls();
        if (reason !== 'closed') {
          setStatus(`Disconnected: ${reason}`);
          $('start').textContent = 'Reconnect';
          $('start').hidden = false;
        }
      },
    });
    state.connected = true;
    setStatus('Live', true);
  } catch (err) {
    const e = errorInfo(err);
    if (e.code === 'NotAllowedError' || e.code === 'NotFoundError') {
      e.message = `no camera: ${e.message}`;
    }
    showError(e);
    setStatus(`Not connected: ${e.message}`);
    $('start').textContent = state.camera ? 'Reconnect' : 'Start camera';
    $('start').hidden = false;
  } finally {
    state.starting = false;
    setControls();
  }
}

async function stop() {
  const s = state.session;
  state.session = null;
  state.connected = false;
  for (const st of state.stickers.values()) dropSticker(st);
  if (s) await s.close();
  if (state.camera) {
    for (const t of state.camera.getTracks()) t.stop();
    state.camera = null;
  }
  /** @type {HTMLVideoElement} */ ($('remote')).srcObject = null;
  /** @type {HTMLVideoElement} */ ($('local')).srcObject = null;
  $('placeholder').hidden = false;
  $('placeholder').textContent = 'Stopped.';
  setStatus('Stopped');
  $('start').textContent = 'Start camera';
  $('start').hidden = false;
  setControls();
}

// ---- stickers ----

/**
 * addBuiltin adds a built-in sticker; resolves with its id once the edge
 * has it.
 * @param {string} name
 * @param {{x?: number, y?: number, width?: number}} [at]
 */
async function addBuiltin(name, at = {}) {
  const size = state.catalogue.get(name) || { width: 1, height: 1 };
  const st = newSticker('image', name, at.x ?? 0.5, at.y ?? 0.5);
  st.width = at.width ?? DEFAULT_WIDTH;
  st.aspect = size.height / size.width;
  return place(st, { type: 'image', builtin: name, x: st.x, y: st.y, width: st.width });
}

/**
 * addText adds a text sticker near the bottom of the frame.
 * @param {string} text
 */
async function addText(text) {
  const st = newSticker('text', text, 0.5, 0.82);
  st.text = text;
  st.size = 0.1;
  return place(st, { type: 'text', text, size: st.size, color: '#FFFFFF', stroke_color: '#000000',
    stroke_width: 0.006, x: st.x, y: st.y });
}

/**
 * @param {'image' | 'text'} kind
 * @param {string} label
 * @param {number} x
 * @param {number} y
 * @returns {Sticker}
 */
function newSticker(kind, label, x, y) {
  return { id: `s${state.nextID++}`, kind, label, x, y, width: DEFAULT_WIDTH, aspect: 1,
    handle: document.createElement('div'), dirty: false, lastSent: 0, timer: null };
}

/**
 * place sends the add op and, once acknowledged, shows the sticker's handle.
 * @param {Sticker} st
 * @param {object} spec
 */
async function place(st, spec) {
  const s = requireSession();
  await s.addSticker(st.id, spec);
  if (s !== state.session) return st.id; // stopped meanwhile
  state.stickers.set(st.id, st);
  makeHandle(st);
  select(st.id);
  setControls();
  return st.id;
}

/**
 * move places a sticker at x, y now and sends it (tests and keyboard).
 * @param {string} id
 * @param {number} x
 * @param {number} y
 */
async function move(id, x, y) {
  const st = state.stickers.get(id);
  if (!st) throw new Error(`no sticker ${id}`);
  st.x = clamp01(x);
  st.y = clamp01(y);
  layout(st);
  clearTimeout(st.timer ?? undefined);
  st.timer = null;
  st.dirty = false;
  st.lastSent = performance.now();
  return requireSession().updateSticker(id, { x: round(st.x), y: round(st.y) });
}

/** @param {string} id */
async function remove(id) {
  const st = state.stickers.get(id);
  if (!st) return;
  await requireSession().removeSticker(id);
  dropSticker(st);
  setControls();
}

async function clearAll() {
  await requireSession().clear();
  for (const st of state.stickers.values()) dropSticker(st);
  setControls();
}

/** @param {Sticker} st */
function dropSticker(st) {
  clearTimeout(st.timer ?? undefined);
  st.handle.remove();
  state.stickers.delete(st.id);
  if (state.selected === st.id) state.selected = null;
}

/**
 * scheduleUpdate sends the sticker's position at most every
 * UPDATE_INTERVAL_MS, always ending with the latest one.
 * @param {Sticker} st
 */
function scheduleUpdate(st) {
  st.dirty = true;
  if (st.timer) return;
  const wait = Math.max(0, st.lastSent + UPDATE_INTERVAL_MS - performance.now());
  st.timer = setTimeout(() => sendUpdate(st), wait);
}

/**
 * @param {Sticker} st
 * @param {object} [extra] more fields to send with the position
 */
function sendUpdate(st, extra = {}) {
  clearTimeout(st.timer ?? undefined);
  st.timer = null;
  if (!state.session || !state.stickers.has(st.id)) return;
  st.dirty = false;
  st.lastSent = performance.now();
  state.session.updateSticker(st.id, { x: round(st.x), y: round(st.y), ...extra }).catch((err) => showError(errorInfo(err)));
}

// ---- handles and dragging ----

/** @param {Sticker} st */
function makeHandle(st) {
  const h = st.handle;
  h.className = 'handle';
  h.tabIndex = 0;
  h.dataset.id = st.id;
  h.setAttribute('role', 'button');
  h.setAttribute('aria-label', `${st.kind === 'text' ? 'Text' : 'Sticker'} ${st.label}: drag to move`);
  h.addEventListener('pointerdown', (ev) => startDrag(st, ev));
  h.addEventListener('keydown', (ev) => onKey(st, ev));
  h.addEventListener('focus', () => select(st.id));
  $('overlay').append(h);
  layout(st);
}

/**
 * layout puts a handle over where the edge draws the sticker.
 * @param {Sticker} st
 */
function layout(st) {
  const video = /** @type {HTMLVideoElement} */ ($('remote'));
  const ratio = (video.videoWidth || 4) / (video.videoHeight || 3); // frame width / height
  let w, h;
  if (st.kind === 'text') {
    h = st.size || 0.1;
    w = Math.min(1, ((st.text || '').length * 0.55 + 0.4) * h / ratio);
  } else {
    w = st.width;
    h = st.width * st.aspect * ratio;
  }
  Object.assign(st.handle.style, {
    left: pct(st.x - w / 2), top: pct(st.y - h / 2), width: pct(w), height: pct(h),
  });
}

/**
 * @param {Sticker} st
 * @param {PointerEvent} ev
 */
function startDrag(st, ev) {
  if (ev.button !== 0) return;
  ev.preventDefault();
  select(st.id);
  st.handle.focus({ preventScroll: true });
  const h = st.handle;
  h.setPointerCapture(ev.pointerId);
  h.classList.add('dragging');
  const box = $('overlay').getBoundingClientRect();
  // Keep the point grabbed under the pointer rather than jump to the centre.
  const dx = (ev.clientX - box.left) / box.width - st.x;
  const dy = (ev.clientY - box.top) / box.height - st.y;
  /** @param {PointerEvent} e */
  const onMove = (e) => {
    st.x = clamp01((e.clientX - box.left) / box.width - dx);
    st.y = clamp01((e.clientY - box.top) / box.height - dy);
    layout(st);
    scheduleUpdate(st);
  };
  const onEnd = () => {
    h.classList.remove('dragging');
    h.removeEventListener('pointermove', onMove);
    h.removeEventListener('pointerup', onEnd);
    h.removeEventListener('pointercancel', onEnd);
    if (st.dirty) sendUpdate(st); // the final position, now
  };
  h.addEventListener('pointermove', onMove);
  h.addEventListener('pointerup', onEnd);
  h.addEventListener('pointercancel', onEnd);
}

/**
 * @param {Sticker} st
 * @param {KeyboardEvent} ev
 */
function onKey(st, ev) {
  const step = ev.shiftKey ? 0.05 : 0.01;
  const moves = /** @type {Record<string, [number, number]>} */ ({
    ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step],
  });
  if (moves[ev.key]) {
    st.x = clamp01(st.x + moves[ev.key][0]);
    st.y = clamp01(st.y + moves[ev.key][1]);
    layout(st);
    scheduleUpdate(st);
  } else if ((ev.key === '+' || ev.key === '=' || ev.key === '-' || ev.key === '−') && st.kind === 'image') {
    st.width = Math.min(1, Math.max(0.02, st.width * (ev.key === '-' || ev.key === '−' ? 0.9 : 1.1)));
    layout(st);
    sendUpdate(st, { width: round(st.width) });
  } else if (ev.key === 'Delete' || ev.key === 'Backspace') {
    remove(st.id).catch((err) => showError(errorInfo(err)));
  } else {
    return;
  }
  ev.preventDefault();
}

/** @param {string | null} id */
function select(id) {
  state.selected = id;
  for (const st of state.stickers.values()) st.handle.classList.toggle('selected', st.id === id);
  setControls();
}

// ---- palette ----

async function loadPalette() {
  const palette = $('palette');
  let items = [];
  try {
    const resp = await fetch('/v1/stickers', { headers: authHeaders() });
    if (!resp.ok) throw new Error(`GET /v1/stickers: HTTP ${resp.status}`);
    const body = await resp.json();
    items = Array.isArray(body) ? body : (body.items || body.stickers || []);
  } catch (err) {
    showError({ code: 'NETWORK_ERROR', message: `the sticker catalogue did not load: ${errorInfo(err).message}` });
    return;
  }
  palette.replaceChildren();
  for (const s of items) {
    state.catalogue.set(s.name, { width: s.width || 1, height: s.height || 1 });
    const item = document.createElement('div');
    item.setAttribute('role', 'listitem');
    const btn = document.createElement('button');
    btn.type = 'button';
    btn.className = 'palette-item';
    btn.dataset.name = s.name;
    btn.title = `Add ${s.title || s.name}${s.animated ? ' (animated)' : ''}`;
    btn.setAttribute('aria-label', btn.title);
    const img = Object.assign(document.createElement('img'), {
      alt: '', loading: 'lazy', draggable: false, src: s.preview_url || `/v1/stickers/${encodeURIComponent(s.name)}`,
    });
    const caption = Object.assign(document.createElement('span'), { className: 'caption', textContent: s.title || s.name });
    btn.append(img, caption);
    btn.addEventListener('click', () => addBuiltin(s.name).catch((err) => showError(errorInfo(err))));
    item.append(btn);
    palette.append(item);
  }
  setControls();
}

// ---- display ----

/** @param {import('./stickerd-rtc.js').Stats} s */
function showStats(s) {
  state.stats = s;
  $('stat-fps').textContent = s.fps.toFixed(1);
  $('stat-p50').textContent = `${s.latency_ms_p50.toFixed(1)} ms`;
  $('stat-p95').textContent = `${s.latency_ms_p95.toFixed(1)} ms`;
  $('stat-dropped').textContent = String(s.frames_dropped);
}

/** @param {{code: string, message: string}} e */
function showError(e) {
  state.errors.push(e);
  const box = $('errors');
  const p = document.createElement('p');
  p.textContent = e.code ? `${e.code}: ${e.message}` : e.message;
  box.append(p);
  while (box.childElementCount > MAX_ERRORS) box.firstElementChild?.remove();
  box.hidden = false;
}

/**
 * @param {string} text
 * @param {boolean} [live]
 */
function setStatus(text, live = false) {
  const el = $('status');
  el.textContent = text;
  el.classList.toggle('live', live);
}

function setControls() {
  const on = !!state.session && state.connected;
  for (const b of document.querySelectorAll('.palette-item')) /** @type {HTMLButtonElement} */ (b).disabled = !on;
  /** @type {HTMLButtonElement} */ ($('add-text')).disabled = !on;
  /** @type {HTMLButtonElement} */ ($('stop')).disabled = !state.session && !state.camera;
  /** @type {HTMLButtonElement} */ ($('remove')).disabled = !on || !state.selected;
  /** @type {HTMLButtonElement} */ ($('clear')).disabled = !on || state.stickers.size === 0;
}

// ---- helpers ----

function requireSession() {
  if (!state.session) throw new Error('not connected');
  return state.session;
}

function apiKey() {
  try { return localStorage.getItem(KEY_STORAGE) || ''; } catch { return ''; }
}

function authHeaders() {
  const key = apiKey();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

/**
 * @param {unknown} err
 * @returns {{code: string, message: string}}
 */
function errorInfo(err) {
  const e = /** @type {any} */ (err);
  return { code: String(e?.code || e?.name || ''), message: String(e?.message || err) };
}

/** @param {number} v */
const clamp01 = (v) => Math.min(1, Math.max(0, v));
/** @param {number} v */
const round = (v) => Math.round(v * 10000) / 10000;
/** @param {number} v */
const pct = (v) => `${(v * 100).toFixed(3)}%`;

// ---- wiring ----

function init() {
  const key = /** @type {HTMLInputElement} */ ($('api-key'));
  key.value = apiKey();
  const saveKey = () => {
    try {
      key.value ? localStorage.setItem(KEY_STORAGE, key.value) : localStorage.removeItem(KEY_STORAGE);
    } catch { /* private mode */ }
  };
  key.addEventListener('change', saveKey);
  $('key-form').addEventListener('submit', (ev) => { ev.preventDefault(); saveKey(); });
  $('start').addEventListener('click', () => start());
  $('stop').addEventListener('click', () => stop());
  $('remove').addEventListener('click', () => {
    if (state.selected) remove(state.selected).catch((err) => showError(errorInfo(err)));
  });
  $('clear').addEventListener('click', () => clearAll().catch((err) => showError(errorInfo(err))));
  $('text-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const input = /** @type {HTMLInputElement} */ ($('text-input'));
    const text = input.value.trim();
    if (!text) return;
    addText(text).then(() => { input.value = ''; }, (err) => showError(errorInfo(err)));
  });
  $('overlay').addEventListener('pointerdown', (ev) => {
    if (ev.target === $('overlay')) select(null);
  });
  const video = /** @type {HTMLVideoElement} */ ($('remote'));
  const fit = () => {
    if (!video.videoWidth || !video.videoHeight) return;
    $('placeholder').hidden = true;
    const stage = $('stage');
    stage.style.aspectRatio = `${video.videoWidth} / ${video.videoHeight}`;
    stage.style.width = `min(100%, calc(70vh * ${video.videoWidth} / ${video.videoHeight}))`;
    for (const st of state.stickers.values()) layout(st);
  };
  video.addEventListener('loadedmetadata', fit);
  video.addEventListener('resize', fit);
  window.addEventListener('pagehide', () => { state.session?.close(); });

  // A small handle for tests and the console; the page works without it.
  /** @type {any} */ (window).__stickerd = {
    get connected() { return state.connected; },
    get session() { return state.session; },
    get stats() { return state.stats; },
    get errors() { return state.errors.slice(); },
    get acks() { return state.acks; },
    get stickers() {
      return [...state.stickers.values()].map(({ id, kind, label, x, y, width }) => ({ id, kind, label, x, y, width }));
    },
    start, stop, addBuiltin, addText, move, remove, clear: clearAll,
  };

  setControls();
  loadPalette();
  start();
}

init();
