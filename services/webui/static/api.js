// A small client of the stickerd REST API (docs/api.md), same origin.

const KEY_STORAGE = 'stickerd.apiKey';

/** APIError is an answer outside 2xx, read from its problem+json body. */
export class APIError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.code = problem.code || '';
    this.title = problem.title || '';
    this.fields = Array.isArray(problem.errors) ? problem.errors : [];
  }
}

export function apiKey() {
  try { return localStorage.getItem(KEY_STORAGE) || ''; } catch { return ''; }
}

export function setAPIKey(key) {
  try { key ? localStorage.setItem(KEY_STORAGE, key) : localStorage.removeItem(KEY_STORAGE); } catch { /* private mode */ }
}

function headers(extra = {}) {
  const h = { Accept: 'application/json', ...extra };
  const key = apiKey();
  if (key) h.Authorization = `Bearer ${key}`;
  return h;
}

async function problemOf(status, text, contentType) {
  if (/json/.test(contentType || '')) {
    try { return new APIError(status, JSON.parse(text)); } catch { /* fall through */ }
  }
  return new APIError(status, { title: `HTTP ${status}`, detail: (text || '').slice(0, 200) });
}

async function call(method, path, { body, contentType } = {}) {
  const init = { method, headers: headers(contentType ? { 'Content-Type': contentType } : {}), body };
  const resp = await fetch(path, init);
  if (!resp.ok) throw await problemOf(resp.status, await resp.text(), resp.headers.get('Content-Type'));
  return resp;
}

/** listStickers returns the built-in catalogue (a bare list, or under items/stickers). */
export async function listStickers() {
  const body = await (await call('GET', '/v1/stickers')).json();
  return Array.isArray(body) ? body : (body.items || body.stickers || []);
}

export function stickerImageURL(name) {
  return `/v1/stickers/${encodeURIComponent(name)}`;
}

/** uploadAsset posts a file as the multipart field "file", reporting progress 0..1. */
export function uploadAsset(file, onProgress = () => {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/v1/assets');
    for (const [k, v] of Object.entries(headers())) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    xhr.onload = async () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1);
        resolve(JSON.parse(xhr.responseText));
      } else {
        reject(await problemOf(xhr.status, xhr.responseText, xhr.getResponseHeader('Content-Type')));
      }
    };
    xhr.onerror = () => reject(new APIError(0, { title: 'Network error', detail: 'the upload did not get through' }));
    const form = new FormData();
    form.append('file', file, file.name);
    xhr.send(form);
  });
}

/** submitRender posts a spec; cached is true when the server had rendered it before. */
export async function submitRender(spec) {
  const resp = await call('POST', '/v1/renders', { body: JSON.stringify(spec), contentType: 'application/json' });
  return { job: await resp.json(), cached: resp.status === 200 };
}

export async function getRender(id) {
  return (await call('GET', `/v1/renders/${encodeURIComponent(id)}`)).json();
}

export async function cancelRender(id) {
  return (await call('DELETE', `/v1/renders/${encodeURIComponent(id)}`)).json();
}

export const terminal = (status) => ['succeeded', 'failed', 'canceled'].includes(status);

/**
 * followJob calls onProgress(0..1) and onStatus(job) until the job ends. It
 * listens to the job's Server-Sent Events and polls GET once the stream
 * breaks (or when an API key is set: EventSource cannot send one).
 * It returns a function that stops following.
 */
export function followJob(id, { onProgress, onStatus }) {
  let stopped = false;
  let source = null;
  const stop = () => { stopped = true; if (source) source.close(); };
  const poll = async () => {
    while (!stopped) {
      try {
        const job = await getRender(id);
        if (job.status === 'running') onProgress(job.progress);
        onStatus(job);
        if (terminal(job.status)) return;
      } catch (e) {
        if (e.status && e.status < 500 && e.status !== 429) { onStatus(null, e); return; }
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  };
  if (apiKey() || typeof EventSource === 'undefined') {
    poll();
    return stop;
  }
  source = new EventSource(`/v1/renders/${encodeURIComponent(id)}/events`);
  source.addEventListener('progress', (e) => {
    const data = JSON.parse(e.data);
    onProgress(typeof data === 'number' ? data : data.progress);
  });
  source.addEventListener('status', (e) => {
    const job = JSON.parse(e.data);
    if (job.status === 'running') onProgress(job.progress || 0);
    onStatus(job);
    if (terminal(job.status)) stop();
  });
  source.onerror = () => {
    if (stopped) return;
    source.close(); // EventSource would reconnect on its own; polling is enough
    source = null;
    poll();
  };
  return stop;
}

/**
 * outputURL is where a job's result is: its signed link when the job
 * carries one (it needs no key), else the output route, fetched into a
 * blob: URL when an API key is set.
 */
export async function outputURL(id, job = null) {
  if (job?.output?.signed_url) return job.output.signed_url;
  const path = `/v1/renders/${encodeURIComponent(id)}/output`;
  if (!apiKey()) return path;
  const resp = await call('GET', path);
  return URL.createObjectURL(await resp.blob());
}

/** listRenders is a page of the tenant's jobs, newest first: {items, next_cursor}. */
export async function listRenders(cursor = null, limit = 20) {
  const q = new URLSearchParams({ limit: String(limit) });
  if (cursor) q.set('cursor', cursor);
  return (await call('GET', `/v1/renders?${q}`)).json();
}

// --- templates and batches ---------------------------------------------

/** createTemplate posts a definition {name, spec, variables}; 201 with version 1. */
export async function createTemplate(def) {
  return (await call('POST', '/v1/templates', { body: JSON.stringify(def), contentType: 'application/json' })).json();
}

/** listTemplates is a page of the tenant's templates: {items, next_cursor}. */
export async function listTemplates(cursor = null) {
  const q = new URLSearchParams({ limit: '50' });
  if (cursor) q.set('cursor', cursor);
  return (await call('GET', `/v1/templates?${q}`)).json();
}

export async function getTemplate(id) {
  return (await call('GET', `/v1/templates/${encodeURIComponent(id)}`)).json();
}

/** renderTemplate submits a render of a template version with variables. */
export async function renderTemplate(templateID, version, variables) {
  const body = JSON.stringify({ template_id: templateID, template_version: version, variables });
  const resp = await call('POST', '/v1/renders', { body, contentType: 'application/json' });
  return { job: await resp.json(), cached: resp.status === 200 };
}

/** submitBatchCSV posts a CSV file as a batch of a template version; 202 with the batch. */
export async function submitBatchCSV(templateID, version, file) {
  const q = new URLSearchParams({ template_id: templateID, template_version: String(version) });
  return (await call('POST', `/v1/batches?${q}`, { body: file, contentType: 'text/csv' })).json();
}

/** getBatch is a batch with its counts and a page of its rows. */
export async function getBatch(id, limit = 1000) {
  return (await call('GET', `/v1/batches/${encodeURIComponent(id)}?limit=${limit}`)).json();
}

const batchEnded = (status) => ['completed', 'canceled', 'failed'].includes(status);

/**
 * followBatch calls onStatus(batch) with the batch's counts as they
 * change, and onRow(row) for each row that ends, from the batch's event
 * stream (polling GET without EventSource or with an API key) until the
 * batch ends. It returns a function that stops following.
 */
export function followBatch(id, { onStatus, onRow = () => {}, onError = () => {} }) {
  let stopped = false;
  let source = null;
  const stop = () => { stopped = true; if (source) source.close(); };
  const poll = async () => {
    while (!stopped) {
      try {
        const b = await getBatch(id);
        onStatus(b);
        if (batchEnded(b.status)) return;
      } catch (e) {
        if (e.status && e.status < 500 && e.status !== 429) { onError(e); return; }
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  };
  if (apiKey() || typeof EventSource === 'undefined') {
    poll();
    return stop;
  }
  source = new EventSource(`/v1/batches/${encodeURIComponent(id)}/events`);
  source.addEventListener('row', (e) => onRow(JSON.parse(e.data)));
  source.addEventListener('status', (e) => {
    const b = JSON.parse(e.data);
    onStatus(b);
    if (batchEnded(b.status)) stop();
  });
  source.onerror = () => {
    if (stopped) return;
    source.close();
    source = null;
    poll();
  };
  return stop;
}

/** imageURL is a sticker image's address, fetched into a blob: URL when an API key is set. */
export async function imageURL(path) {
  if (!apiKey()) return path;
  const resp = await call('GET', path);
  return URL.createObjectURL(await resp.blob());
}
