// Small DOM helpers of the page: the error box, byte sizes, file drops.

import { APIError } from './api.js';

const $ = (id) => document.getElementById(id);

/**
 * showErrors shows a problem and each field it names: an api.APIError, or
 * {title, code, detail, fields}, in the error box of the page's view.
 */
export function showErrors(err, context, boxID = 'errors') {
  const box = $(boxID);
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

export function hideErrors(boxID = 'errors') {
  $(boxID).hidden = true;
  $(boxID).replaceChildren();
}

/** mediaFor is an element that shows a rendered output of a format. */
export function mediaFor(format, url) {
  const still = format === 'gif' || format === 'webp';
  const media = document.createElement(still ? 'img' : 'video');
  if (still) media.alt = 'The rendered result';
  else Object.assign(media, { controls: true, loop: true, playsInline: true, muted: true });
  media.src = url;
  return media;
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
