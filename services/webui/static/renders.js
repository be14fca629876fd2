// The history page (#history): the tenant's renders, newest first
// (GET /v1/renders, a page at a time), each with its output to download
// again while it is stored.

import * as api from './api.js';
import { showErrors, hideErrors, size } from './ui.js';
import { downloadLink } from './templates.js';

const $ = (id) => document.getElementById(id);
const BOX = 'history-errors';

export class HistoryView {
  constructor() {
    this.cursor = null;
    $('history-refresh').addEventListener('click', () => this.load(true));
    $('history-more').addEventListener('click', () => this.load(false));
  }

  async load(reset) {
    hideErrors(BOX);
    if (reset) this.cursor = null;
    try {
      const page = await api.listRenders(this.cursor);
      const rows = (page.items || []).map(row);
      const body = $('history-table').tBodies[0];
      if (reset) body.replaceChildren(...rows);
      else body.append(...rows);
      this.cursor = page.next_cursor || null;
      $('history-more').hidden = !this.cursor;
      $('history-empty').hidden = body.children.length > 0;
    } catch (e) {
      showErrors(e, 'Could not list the renders', BOX);
    }
  }
}

// row is one job as a table row.
function row(job) {
  const tr = document.createElement('tr');
  tr.dataset.id = job.id;
  const cell = (...nodes) => { const td = document.createElement('td'); td.append(...nodes); return td; };
  const o = job.output;
  let output = '';
  let action = '';
  if (job.status === 'succeeded' && o) {
    output = `${o.format} ${o.width}×${o.height}, ${o.duration.toFixed(2)} s, ${size(o.bytes)}`;
    if (job.output_deleted_at) output += ' (deleted)';
    else action = downloadLink(job.id, job);
  } else if (job.error) {
    output = job.error.code;
  }
  const from = job.batch_id ? `batch ${job.batch_id}` : job.template_id ? `${job.template_id} v${job.template_version}` : 'studio';
  const code = Object.assign(document.createElement('code'), { textContent: job.id });
  tr.append(cell(new Date(job.created_at).toLocaleString()), cell(code),
    cell(Object.assign(document.createElement('span'), { className: `status ${job.status}`, textContent: job.status })),
    cell(output), cell(from), cell(timeline(job)), cell(action));
  return tr;
}

// PHASES are the steps of a job's timings, each ending at its own stamp and
// starting at the previous one's.
const PHASES = [['wait', 'queued', 'assigned'], ['fetch', 'started', 'inputs_fetched'],
  ['encode', 'inputs_fetched', 'encoded'], ['store', 'encoded', 'stored']];

// timeline says where a job's time went (its timings), with every stamp
// and the trace id, when it was traced, in the tooltip.
export function timeline(job) {
  const t = job.timings || {};
  const at = (k) => (t[k] ? Date.parse(t[k]) : NaN);
  const secs = (ms) => `${(ms / 1000).toFixed(2)} s`;
  const parts = PHASES.filter(([, a, b]) => !isNaN(at(a)) && !isNaN(at(b))).map(([name, a, b]) => `${name} ${secs(at(b) - at(a))}`);
  if (!isNaN(at('finished'))) parts.push(`total ${secs(at('finished') - at('queued'))}`);
  const span = Object.assign(document.createElement('span'), { className: 'timeline', textContent: parts.join(' · ') });
  const lines = Object.entries(t).map(([k, v]) => `${k} ${new Date(v).toLocaleTimeString()}`);
  if (job.trace_id) lines.push(`trace ${job.trace_id}`);
  span.title = lines.join('\n');
  return span;
}
