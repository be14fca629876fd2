// The templates page (#templates, #templates/tpl_…): the tenant's
// templates; one of them as a form of its variables that renders it, and
// a batch of it from a CSV file, followed row by row until it ends.

import * as api from './api.js';
import { showErrors, hideErrors, mediaFor, size } from './ui.js';

const $ = (id) => document.getElementById(id);
const BOX = 'tpl-errors';

export class TemplatesView {
  constructor() {
    this.tpl = null; // the template shown
    this.cursor = null;
    this.stopJob = null;
    this.stopBatch = null;
    $('tpl-form').addEventListener('submit', (e) => { e.preventDefault(); this.render(); });
    $('tpl-more').addEventListener('click', () => this.loadList(false));
    $('batch-file').addEventListener('change', (e) => {
      const f = e.target.files[0];
      $('batch-file-name').textContent = f ? `${f.name} (${size(f.size)})` : '';
      $('batch-start').disabled = !f;
    });
    $('batch-start').addEventListener('click', () => this.batch());
  }

  /** open shows the list, and the template id when given. */
  async open(id) {
    hideErrors(BOX);
    await this.loadList(true);
    if (id && id !== this.tpl?.id) await this.show(id);
    else if (!id) this.clear();
  }

  clear() {
    this.tpl = null;
    $('tpl-detail').hidden = true;
    $('tpl-none').hidden = false;
  }

  async loadList(reset) {
    if (reset) this.cursor = null;
    try {
      const page = await api.listTemplates(this.cursor);
      const items = (page.items || []).map((t) => {
        const li = document.createElement('li');
        const a = Object.assign(document.createElement('a'), { href: `#templates/${t.id}`, textContent: t.name });
        a.dataset.id = t.id;
        li.append(a, Object.assign(document.createElement('span'), { className: 'hint', textContent: ` v${t.version}` }));
        return li;
      });
      if (reset) $('tpl-list').replaceChildren(...items);
      else $('tpl-list').append(...items);
      this.cursor = page.next_cursor || null;
      $('tpl-more').hidden = !this.cursor;
      $('tpl-empty').hidden = $('tpl-list').children.length > 0;
    } catch (e) {
      showErrors(e, 'Could not list the templates', BOX);
    }
  }

  async show(id) {
    try {
      this.tpl = await api.getTemplate(id);
    } catch (e) {
      this.clear();
      showErrors(e, `Could not open template ${id}`, BOX);
      return;
    }
    const t = this.tpl;
    $('tpl-none').hidden = true;
    $('tpl-detail').hidden = false;
    $('tpl-title').textContent = t.name;
    $('tpl-meta').textContent = `${t.id}, version ${t.version}, updated ${new Date(t.updated_at).toLocaleString()}`;
    $('tpl-fields').replaceChildren(...Object.entries(t.variables).map(([name, v]) => field(name, v)));
    $('tpl-result').hidden = true;
    $('tpl-status').textContent = '';
    $('tpl-progress').hidden = true;
    $('batch-rows').hidden = true;
    $('batch-status').textContent = '';
    $('batch-progress').hidden = true;
    const header = `${Object.keys(t.variables).map(csvCell).join(',')}\r\n`;
    $('tpl-csv-header').href = URL.createObjectURL(new Blob([header], { type: 'text/csv' }));
    $('tpl-csv-header').download = `${t.name.replace(/[^\w.-]+/g, '_') || 'template'}.csv`;
  }

  // values reads the form into variables, uploading chosen files; an
  // empty field is left out, so that its default applies.
  async values() {
    const out = {};
    for (const [name, v] of Object.entries(this.tpl.variables)) {
      const el = $('tpl-fields').querySelector(`[data-variable="${name}"]`);
      switch (v.type) {
        case 'boolean': out[name] = el.checked; break;
        case 'number': if (el.value !== '') out[name] = Number(el.value); break;
        case 'color': out[name] = el.value.toUpperCase(); break;
        case 'asset':
          if (el.files[0]) {
            $('tpl-status').textContent = `Uploading ${el.files[0].name}…`;
            out[name] = (await api.uploadAsset(el.files[0])).id;
          }
          break;
        default: if (el.value !== '') out[name] = el.value;
      }
    }
    return out;
  }

  async render() {
    hideErrors(BOX);
    if (this.stopJob) this.stopJob();
    $('tpl-result').hidden = true;
    $('tpl-render').disabled = true;
    try {
      const { job } = await api.renderTemplate(this.tpl.id, this.tpl.version, await this.values());
      $('tpl-progress').hidden = false;
      $('tpl-progress').value = 0;
      $('tpl-status').textContent = `${job.id} is ${job.status}…`;
      const done = (j) => {
        $('tpl-render').disabled = false;
        $('tpl-progress').hidden = true;
        if (j.status !== 'succeeded') {
          $('tpl-status').textContent = '';
          showErrors({ title: `Render ${j.status}`, code: j.error?.code, detail: j.error?.message }, null, BOX);
          return;
        }
        $('tpl-status').textContent = `Done: ${j.output.format} ${j.output.width}×${j.output.height}, ${size(j.output.bytes)}.`;
        this.showResult(j);
      };
      if (api.terminal(job.status)) { done(job); return; }
      this.stopJob = api.followJob(job.id, {
        onProgress: (p) => { $('tpl-progress').value = p; $('tpl-status').textContent = `Rendering ${job.id}: ${Math.round(p * 100)}%`; },
        onStatus: (j, err) => {
          if (err) { $('tpl-render').disabled = false; showErrors(err, null, BOX); return; }
          if (api.terminal(j.status)) done(j);
        },
      });
    } catch (e) {
      $('tpl-render').disabled = false;
      $('tpl-status').textContent = '';
      showErrors(e, 'The server refused the render', BOX);
    }
  }

  async showResult(job) {
    const url = await api.outputURL(job.id, job);
    $('tpl-result-media').replaceChildren(mediaFor(job.output.format, url));
    Object.assign($('tpl-download'), { href: url, download: `${job.id}.${job.output.format}` });
    $('tpl-result').hidden = false;
    $('tpl-result').scrollIntoView({ block: 'nearest' });
  }

  async batch() {
    hideErrors(BOX);
    const file = $('batch-file').files[0];
    if (!file) return;
    if (this.stopBatch) this.stopBatch();
    $('batch-start').disabled = true;
    try {
      const b = await api.submitBatchCSV(this.tpl.id, this.tpl.version, file);
      if (b.rejected.length) {
        showErrors({
          title: `${b.rejected.length} of ${b.total} rows were refused`,
          fields: b.rejected.flatMap((r) => r.errors.map((f) => ({ field: `row ${r.row + 1}: ${f.field}`, message: f.message }))),
        }, null, BOX);
      }
      $('batch-progress').hidden = false;
      this.batchStatus(b);
      const rows = new Map(); // row → row view, as they end
      this.stopBatch = api.followBatch(b.id, {
        onRow: (r) => { rows.set(r.row, r); this.showRows([...rows.values()]); },
        onStatus: async (s) => {
          this.batchStatus(s);
          if (!['completed', 'canceled', 'failed'].includes(s.status)) return;
          $('batch-start').disabled = false;
          try { this.showRows((await api.getBatch(s.id)).rows); } catch (e) { showErrors(e, null, BOX); }
        },
        onError: (e) => { $('batch-start').disabled = false; showErrors(e, null, BOX); },
      });
    } catch (e) {
      $('batch-start').disabled = false;
      showErrors(e, 'The server refused the batch', BOX);
    }
  }

  batchStatus(b) {
    const c = b.counts;
    const ended = c.succeeded + c.failed + c.canceled;
    $('batch-progress').max = Math.max(b.accepted, 1);
    $('batch-progress').value = ended;
    $('batch-status').textContent = `Batch ${b.id} (${b.status}): ${ended} of ${b.accepted} renders done — `
      + `${c.succeeded} succeeded, ${c.failed} failed, ${c.canceled} canceled, ${c.queued + c.running} to go`
      + (b.rejected.length ? `; ${b.rejected.length} rows refused.` : '.');
  }

  showRows(rows) {
    const body = $('batch-rows').tBodies[0];
    body.replaceChildren(...rows.slice().sort((a, b) => a.row - b.row).map((r) => {
      const tr = document.createElement('tr');
      const cell = (...nodes) => { const td = document.createElement('td'); td.append(...nodes); return td; };
      let out = r.error?.code || '';
      if (r.status === 'succeeded' && r.job_id) out = downloadLink(r.job_id);
      else if (r.errors?.length) out = r.errors.map((f) => `${f.field}: ${f.message}`).join('; ');
      tr.append(cell(String(r.row + 1)), cell(r.status), cell(r.job_id || '—'), cell(out));
      return tr;
    }));
    $('batch-rows').hidden = rows.length === 0;
  }
}

/** downloadLink downloads a job's output; with an API key, through its signed link. */
export function downloadLink(jobID, job = null) {
  const a = Object.assign(document.createElement('a'), {
    href: job?.output?.signed_url || `/v1/renders/${encodeURIComponent(jobID)}/output`,
    textContent: 'Download', className: 'download',
  });
  a.download = `${jobID}.${job?.output?.format || 'mp4'}`;
  if (api.apiKey() && !job?.output?.signed_url) {
    a.addEventListener('click', async (e) => {
      e.preventDefault();
      try {
        const j = await api.getRender(jobID);
        a.href = await api.outputURL(jobID, j);
        a.download = `${jobID}.${j.output.format}`;
        a.click();
      } catch (err) {
        showErrors(err, `Downloading ${jobID} failed`, BOX);
      }
    }, { once: true });
  }
  return a;
}

// field is the form control of one variable.
function field(name, v) {
  const label = document.createElement('label');
  label.append(`${v.label || name} `);
  let input;
  if (Array.isArray(v.enum) && v.enum.length) {
    input = document.createElement('select');
    for (const opt of v.enum) input.append(new Option(String(opt), String(opt)));
    if (v.default != null) input.value = String(v.default);
  } else {
    input = document.createElement('input');
    switch (v.type) {
      case 'number':
        Object.assign(input, { type: 'number', step: 'any' });
        if (v.min != null) input.min = String(v.min);
        if (v.max != null) input.max = String(v.max);
        break;
      case 'color': input.type = 'color'; break;
      case 'boolean': input.type = 'checkbox'; input.checked = v.default === true; break;
      case 'asset': Object.assign(input, { type: 'file', accept: 'image/*,video/*' }); break;
      default:
        input.type = 'text';
        if (v.max_length) input.maxLength = v.max_length;
    }
    if (v.type === 'color' && v.default) input.value = String(v.default).slice(0, 7).toLowerCase();
    else if (v.type !== 'boolean' && v.type !== 'asset' && v.default != null) input.value = String(v.default);
  }
  input.dataset.variable = name;
  input.name = name;
  label.append(input);
  const hints = [v.description, v.type === 'asset' && v.default ? `empty: ${v.default}` : ''].filter(Boolean);
  if (hints.length) label.append(Object.assign(document.createElement('span'), { className: 'hint', textContent: hints.join(' · ') }));
  return label;
}

// csvCell quotes a CSV cell when it needs it.
function csvCell(s) {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
