// Small DOM helpers of the page: the error box, byte sizes, file drops.

import { APIError } from './api.js';

const $ = (id) => document.getElementById(id);

/** showErrors shows a problem and each field it names: an api.APIError, or {title, code, detail, fields}. */
export function showErrors(err, context) {
  const box = $('errors');
  const head = document.createElement('p');
  const code = err.code ? `${err.code}: ` : '';
  const title = context || err.title || 'Something went wrong';
  const detail = err instanceof APIError ? err.message : (err.detail || '');
  head.append(Object.assign(document.createElement('strong'), { textContent: title }));
  if (code || detail) head.append(document.createElement('br'), `${code}${detail}`);
  const list = document.createElement('ul');
  for (const f of err.fields || []) {
    const li = document.createElement('li');
    li.append(Object.assign(document.createElement('code'), { textContent: f.field || '(request)' }), `: ${f.message}`);
    list.append(li);
  }
  box.replaceChildren(head, ...(list.children.length ? [list] : []));
  box.hidden = false;
}

export function hideErrors() {
  $('errors').hidden = true;
  $('errors').replaceChildren();
}

export function size(bytes) {
  if (bytes >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(1)} MB`;
  if (bytes >= 1 << 10) return `${(bytes / (1 << 10)).toFixed(1)} kB`;
  return `${bytes} B`;
}

/** fileDrop calls onFile with a file dropped on el. */
export function fileDrop(el, onFile) {
  el.addEventListener('dragover', (e) => { e.preventDefault(); el.classList.add('drop-target'); });
  el.addEventListener('dragleave', () => el.classList.remove('drop-target'));
  el.addEventListener('drop', (e) => {
    e.preventDefault();
    el.classList.remove('drop-target');
    const file = e.dataTransfer.files[0];
    if (file) onFile(file);
  });
}
