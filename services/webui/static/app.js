// stickerd studio: pick a source, place and animate stickers, render, watch
// the result; save the project as a template; render templates and
// batches; see past renders. Three views of one page, chosen by the URL's
// hash: #studio (the default), #templates[/ID], #history.

import * as api from './api.js';
import { buildSpec, buildTemplate, checkProject, checkTemplate, round } from './spec.js';
import { Stage } from './stage.js';
import { Inspector } from './inspector.js';
import { Timeline } from './timeline.js';
import { History } from './history.js';
import { PROPS } from './motion.js';
import { loadBuiltins, loadFont } from './fonts.js';
import { loadPalette, addEntry } from './palette.js';
import { TemplatesView } from './templates.js';
import { HistoryView } from './renders.js';
import { showErrors, hideErrors, size, fileDrop, mediaFor } from './ui.js';

const $ = (id) => document.getElementById(id);

// project is everything the spec is built from (see spec.js).
const project = { source: null, stickers: [], output: { format: 'mp4', quality: 'standard' } };
let nextID = 1;
let video = null; // the source video on the stage, if any
let duration = 4; // seconds of the source
let uploadToken = 0; // ignores an upload that a newer choice replaced
let following = null; // stops following the running job
let currentJob = null;
let catalogue = []; // names of the built-in stickers
const undo = new History();

const find = (id) => project.stickers.find((s) => s.id === id) || null;

const stage = new Stage($('stage'), {
  onSelect: (id) => {
    const st = find(id);
    inspector.show(st);
    timeline.show(st);
  },
  edit,
  onRemove: removeSticker,
});
const inspector = new Inspector($('inspector'), {
  edit,
  set: (st, done) => changed(st, done),
  valuesAt: (st) => stage.valuesAt(st),
  onRemove: removeSticker,
  playhead,
  uploadFont,
});
const timeline = new Timeline($('kf-track'), {
  duration: () => duration,
  seek: (t) => seek(t),
  changed: (done) => changed(timeline.st, done),
  remove: removeKeyframe,
});

// --- editing --------------------------------------------------------------

// changed redraws a sticker after a change; done ends the change (a step
// of undo).
function changed(st, done) {
  if (st) stage.update(st);
  inspector.refresh();
  timeline.render();
  if (done) commit();
}

/**
 * edit applies a change of x, y, width, rotation, opacity (the animated
 * properties) or size. Once a sticker has keyframes, an animated property
 * changes at the playhead: in the keyframe there, made when there is
 * none, so that what the stage shows is what was set. Otherwise it is the
 * sticker's own value.
 */
function edit(st, patch, done) {
  const animated = Object.keys(patch).filter((k) => PROPS.includes(k));
  if (animated.length && st.keyframes.length) {
    const kf = keyframeAt(st, true);
    for (const k of animated) kf[k] = patch[k];
    timeline.select(kf);
  } else {
    for (const k of animated) st[k] = patch[k];
  }
  if ('size' in patch) st.size = patch.size;
  changed(st, done);
}

// localTime is the playhead in a sticker's own time (keyframe t).
const localTime = (st) => Math.max(0, round(playhead() - (st.start || 0), 2));

// keyframeAt is the sticker's keyframe at the playhead (within a frame),
// made from what the stage shows there when create is set.
function keyframeAt(st, create) {
  const t = localTime(st);
  let kf = st.keyframes.find((k) => Math.abs(k.t - t) < 0.02);
  if (kf || !create) return kf || null;
  const v = stage.valuesAt(st);
  kf = { t, x: v.x, y: v.y, rotation: v.rotation, opacity: v.opacity, easing: 'linear' };
  if (st.kind !== 'text') kf.width = v.width;
  st.keyframes.push(kf);
  st.keyframes.sort((a, b) => a.t - b.t);
  return kf;
}

function addKeyframe() {
  const st = timeline.st;
  if (!st) return;
  timeline.select(keyframeAt(st, true));
  changed(st, true);
}

function removeKeyframe(kf) {
  const st = timeline.st;
  st.keyframes = st.keyframes.filter((k) => k !== kf);
  changed(st, true);
}

// --- undo -----------------------------------------------------------------

const snapshot = () => ({ stickers: project.stickers, nextID });

function commit() {
  undo.commit(snapshot());
  undoButtons();
}

function undoButtons() {
  $('undo').disabled = !undo.canUndo();
  $('redo').disabled = !undo.canRedo();
}

function restore(state) {
  if (!state) return;
  const selected = stage.selected;
  project.stickers = state.stickers;
  nextID = state.nextID;
  stage.clear();
  for (const st of project.stickers) stage.add(st);
  if (find(selected)) stage.select(selected);
  undoButtons();
}

// --- source -------------------------------------------------------------

// useVideo shows a video at once and uploads it. The server identifies
// the file from its bytes: anything but a video is refused there and
// then, with the server's reason, and the stage is emptied again.
async function useVideo(file) {
  hideErrors('upload-errors');
  const token = ++uploadToken;
  video = null;
  if (/^video\//.test(file.type) || /\.(mp4|m4v|mov|webm|mkv|ts|m2ts)$/i.test(file.name)) {
    video = stage.showVideo(URL.createObjectURL(file));
    stage.setAspect(16, 9);
    video.addEventListener('loadedmetadata', () => {
      stage.setAspect(video.videoWidth || 16, video.videoHeight || 9);
      setDuration(video.duration);
    });
    video.addEventListener('timeupdate', () => showTime(video.currentTime));
  }
  project.source = { kind: 'asset', assetId: null };
  const bar = $('upload-progress');
  bar.hidden = false;
  bar.value = 0;
  $('upload-status').textContent = `Uploading ${file.name}…`;
  try {
    const asset = await api.uploadAsset(file, (p) => { bar.value = p; });
    if (token !== uploadToken) return;
    if (asset.kind !== 'video') {
      refuseSource({
        title: `${file.name} is ${asset.kind === 'image' ? 'a picture' : `a ${asset.kind}`}, not a video`,
        detail: asset.kind === 'image'
          ? 'Add it as a sticker (drop it on the stage), or put stickers on a blank canvas.'
          : 'Pick an MP4, MOV, WebM or MKV video, or a blank canvas.',
      });
      return;
    }
    project.source.assetId = asset.id;
    if (!video) video = stage.showVideo(URL.createObjectURL(file));
    if (!video.videoWidth && asset.width && asset.height) stage.setAspect(asset.width, asset.height);
    if (!video.duration && asset.duration) setDuration(asset.duration);
    $('upload-status').textContent = `Uploaded ${file.name} (${size(asset.bytes)}) as ${asset.id}.`;
  } catch (e) {
    if (token !== uploadToken) return;
    refuseSource(e, `${file.name} cannot be the video`);
  } finally {
    if (token === uploadToken) bar.hidden = true;
  }
}

function refuseSource(err, context) {
  project.source = null;
  if (video) video.pause();
  video = null;
  stage.clearMedia('Pick a video or a blank canvas to start.');
  $('upload-status').textContent = '';
  showErrors(err, context, 'upload-errors');
}

function useCanvas() {
  const c = {
    kind: 'canvas', color: $('canvas-color').value, fps: 30,
    width: Number($('canvas-width').value), height: Number($('canvas-height').value),
    duration: Number($('canvas-duration').value),
  };
  if (!(c.width >= 16 && c.height >= 16 && c.duration > 0)) {
    showErrors({ title: 'The canvas needs a size of at least 16×16 and a duration' }, null, 'upload-errors');
    return;
  }
  hideErrors('upload-errors');
  uploadToken++;
  video = null;
  project.source = c;
  stage.showCanvas(c.color);
  stage.setAspect(c.width, c.height);
  setDuration(c.duration);
  $('upload-status').textContent = `Blank ${c.width}×${c.height} canvas, ${c.duration} s.`;
}

// --- stickers -----------------------------------------------------------

function addSticker(props) {
  const n = project.stickers.length;
  const offset = 0.06 * (n % 5); // the first lands in the centre, the next ones cascade
  const st = { id: `s${nextID++}`, x: 0.5 + offset, y: 0.5 + offset, width: 0.2, rotation: 0, opacity: 1,
    start: null, end: null, animation: 'none', keyframes: [], variable: null, ...props };
  project.stickers.push(st);
  stage.add(st);
  stage.focus(st.id);
  commit();
}

function removeSticker(id) {
  project.stickers = project.stickers.filter((s) => s.id !== id);
  stage.remove(id);
  commit();
}

function pickEntry(entry) {
  addSticker(entry.kind === 'builtin'
    ? { kind: 'builtin', name: entry.name, label: entry.label, src: entry.src }
    : { kind: 'asset', assetId: entry.assetId, label: entry.label, src: entry.src,
      width: entry.aspect < 1 ? 0.12 : 0.2 });
}

async function uploadSticker(file) {
  hideErrors('upload-errors');
  $('upload-status').textContent = `Uploading sticker ${file.name}…`;
  try {
    const asset = await api.uploadAsset(file);
    if (asset.kind !== 'image') {
      throw { title: `${file.name} is a ${asset.kind}, not a picture`, detail: 'A sticker is a PNG, JPEG, GIF or WebP picture.' };
    }
    const entry = { kind: 'asset', assetId: asset.id, label: file.name, src: URL.createObjectURL(file),
      aspect: asset.width && asset.height ? asset.width / asset.height : 1 };
    addEntry($('palette'), entry, pickEntry);
    pickEntry(entry);
    $('upload-status').textContent = `Uploaded sticker ${file.name} as ${asset.id}.`;
  } catch (e) {
    $('upload-status').textContent = '';
    showErrors(e, `Uploading ${file.name} failed`, 'upload-errors');
  }
}

// uploadFont uploads a font for a text sticker and draws the preview with
// the same file.
async function uploadFont(file, st) {
  hideErrors('upload-errors');
  $('upload-status').textContent = `Uploading font ${file.name}…`;
  try {
    const bytes = file.arrayBuffer();
    const asset = await api.uploadAsset(file);
    if (asset.kind !== 'font') throw { title: `${file.name} is a ${asset.kind}, not a font`, detail: 'Pick a TrueType or OpenType file.' };
    await loadFont(asset.id, bytes);
    st.font = asset.id;
    inspector.addFont(asset.id, file.name.replace(/\.[^.]+$/, ''));
    changed(st, true);
    $('upload-status').textContent = `Uploaded font ${file.name} as ${asset.id}.`;
  } catch (e) {
    $('upload-status').textContent = '';
    showErrors(e, `Uploading ${file.name} failed`, 'upload-errors');
  }
}

// --- timeline -----------------------------------------------------------

function playhead() {
  return Number($('scrub').value);
}

function setDuration(d) {
  if (!Number.isFinite(d) || d <= 0) return;
  duration = d;
  stage.duration = d;
  $('scrub').max = String(d);
  showTime(Math.min(playhead(), d));
  timeline.render();
}

function showTime(t) {
  $('scrub').value = String(t);
  $('time').textContent = `${t.toFixed(2)} s`;
  stage.setTime(t);
  inspector.refresh();
}

// seek moves the playhead (and the video) to t.
function seek(t) {
  if (video) video.currentTime = t;
  showTime(t);
}

let playing = null;
function togglePlay() {
  const btn = $('play');
  if (playing) {
    playing();
    return;
  }
  btn.textContent = '⏸';
  btn.setAttribute('aria-label', 'Pause');
  let frame = 0;
  let last = performance.now();
  const tick = (now) => {
    if (!video) showTime((playhead() + (now - last) / 1000) % duration);
    last = now;
    frame = requestAnimationFrame(tick);
  };
  if (video) video.play().catch(() => {});
  frame = requestAnimationFrame(tick);
  playing = () => {
    cancelAnimationFrame(frame);
    if (video) video.pause();
    playing = null;
    btn.textContent = '▶';
    btn.setAttribute('aria-label', 'Play');
  };
}

// --- spec and template ----------------------------------------------------

// copySpec puts the render request on the clipboard, or shows it to copy
// by hand where the clipboard cannot be written.
async function copySpec() {
  const text = JSON.stringify(buildSpec(project), null, 2);
  try {
    await navigator.clipboard.writeText(text);
    $('toolbar-status').textContent = `Copied the spec (${text.length} characters).`;
  } catch {
    $('spec-json').value = text;
    $('spec-dialog').showModal();
    $('spec-json').select();
  }
}

async function saveTemplate(e) {
  e.preventDefault();
  hideErrors('template-errors');
  const name = $('template-name').value.trim();
  const problems = checkTemplate(project, name);
  if (problems.length) {
    showErrors({ title: 'Not ready to save', fields: problems }, null, 'template-errors');
    return;
  }
  try {
    const t = await api.createTemplate(buildTemplate(project, name, catalogue));
    $('template-save').hidden = true;
    const link = Object.assign(document.createElement('a'), { href: `#templates/${t.id}`, textContent: 'open it' });
    $('toolbar-status').replaceChildren(`Saved “${t.name}” as ${t.id} — `, link, '.');
  } catch (err) {
    showErrors(err, 'The server refused the template', 'template-errors');
  }
}

// --- render -------------------------------------------------------------

async function render() {
  hideErrors();
  $('result').hidden = true;
  const problems = checkProject(project);
  if (problems.length) {
    showErrors({ title: 'Not ready to render', fields: problems });
    return;
  }
  project.output = { format: $('format').value, quality: $('quality').value };
  setRendering(true, 'Submitting…');
  try {
    const { job, cached } = await api.submitRender(buildSpec(project));
    currentJob = job.id;
    if (api.terminal(job.status)) {
      finish(job, cached);
      return;
    }
    setRendering(true, `${job.id} is ${job.status}…`);
    following = api.followJob(job.id, {
      onProgress: (p) => {
        $('render-progress').value = p;
        $('render-status').textContent = `Rendering ${job.id}: ${Math.round(p * 100)}%`;
      },
      onStatus: (j, err) => {
        if (err) { setRendering(false, ''); showErrors(err); return; }
        if (api.terminal(j.status)) finish(j, false);
        else if (j.status === 'queued') $('render-status').textContent = `${j.id} is waiting for a worker…`;
      },
    });
  } catch (e) {
    setRendering(false, '');
    showErrors(e, 'The server refused the render');
  }
}

function setRendering(on, text) {
  $('render').disabled = on;
  $('cancel').hidden = !on;
  $('render-progress').hidden = !on;
  if (on && text === 'Submitting…') $('render-progress').value = 0;
  $('render-status').textContent = text;
  if (on) $('render-status').scrollIntoView({ block: 'nearest' });
}

function finish(job, cached) {
  if (following) following();
  following = null;
  setRendering(false, '');
  if (job.status !== 'succeeded') {
    const e = job.error || {};
    showErrors({ title: `Render ${job.status}`, code: e.code, detail: e.message });
    $('errors').scrollIntoView({ block: 'nearest' });
    return;
  }
  const o = job.output;
  $('render-status').textContent = `Done${cached ? ' (rendered before)' : ''}: ${o.format} ${o.width}×${o.height}, `
    + `${o.duration.toFixed(2)} s, ${size(o.bytes)}.`;
  showResult(job).catch((e) => showErrors(e, 'Fetching the result failed'));
}

// showResult shows the output and scrolls it into view: its box has the
// output's shape before the file loads, so the scroll lands right.
async function showResult(job) {
  const o = job.output;
  const url = await api.outputURL(job.id, job);
  const media = mediaFor(o.format, url);
  if (o.width && o.height) {
    media.style.aspectRatio = `${o.width} / ${o.height}`;
    media.style.width = `min(100%, calc(40vh * ${(o.width / o.height).toFixed(4)}))`;
  }
  $('result-media').replaceChildren(media);
  Object.assign($('download'), { href: url, download: `${job.id}.${o.format}`, textContent: `Download ${o.format.toUpperCase()}` });
  $('result').hidden = false;
  const reveal = () => $('result').scrollIntoView({ block: 'nearest' });
  reveal();
  media.addEventListener(media.tagName === 'IMG' ? 'load' : 'loadedmetadata', reveal, { once: true });
}

// --- views ----------------------------------------------------------------

const templatesView = new TemplatesView();
const historyView = new HistoryView();

function route() {
  const [name, id] = location.hash.replace(/^#/, '').split('/');
  const view = ['templates', 'history'].includes(name) ? name : 'studio';
  for (const v of ['studio', 'templates', 'history']) $(`view-${v}`).hidden = v !== view;
  for (const a of document.querySelectorAll('nav.views a')) {
    if (a.dataset.view === view) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (view === 'templates') templatesView.open(id);
  if (view === 'history') historyView.load(true);
}

// --- wiring -------------------------------------------------------------

function dropped(file) {
  if (/^image\//.test(file.type)) uploadSticker(file);
  else if (/\.(ttf|otf|ttc)$/i.test(file.name) && inspector.st?.kind === 'text') uploadFont(file, inspector.st);
  else useVideo(file);
}

async function refreshPalette() {
  try {
    catalogue = (await loadPalette($('palette'), pickEntry)).map((s) => s.name);
  } catch (e) {
    showErrors(e, 'Could not load the sticker catalogue', 'upload-errors');
  }
}

// shortcuts: undo and redo, unless a field takes them for its own text.
function shortcut(e) {
  if ($('view-studio').hidden || !(e.ctrlKey || e.metaKey) || e.altKey) return;
  if (e.target.closest('input, textarea, select')) return;
  const k = e.key.toLowerCase();
  if (k === 'z' && !e.shiftKey) restore(undo.undo());
  else if ((k === 'z' && e.shiftKey) || k === 'y') restore(undo.redo());
  else return;
  e.preventDefault();
}

$('video-file').addEventListener('change', (e) => e.target.files[0] && useVideo(e.target.files[0]));
$('sticker-file').addEventListener('change', (e) => e.target.files[0] && uploadSticker(e.target.files[0]));
$('use-canvas').addEventListener('click', useCanvas);
$('add-text').addEventListener('click', () => addSticker({
  kind: 'text', label: 'Text', text: 'Hello 👋', color: '#FFFFFF', size: 0.08, outline: true, font: 'sans', y: 0.8,
}));
$('scrub').addEventListener('input', () => seek(playhead()));
$('play').addEventListener('click', togglePlay);
$('kf-add').addEventListener('click', addKeyframe);
$('undo').addEventListener('click', () => restore(undo.undo()));
$('redo').addEventListener('click', () => restore(undo.redo()));
$('copy-spec').addEventListener('click', copySpec);
$('save-template').addEventListener('click', () => {
  $('template-save').hidden = !$('template-save').hidden;
  if (!$('template-save').hidden) $('template-name').focus();
});
$('template-save').addEventListener('submit', saveTemplate);
$('template-save-cancel').addEventListener('click', () => { $('template-save').hidden = true; });
$('render').addEventListener('click', render);
$('cancel').addEventListener('click', () => currentJob && api.cancelRender(currentJob).catch((e) => showErrors(e)));
$('api-key').value = api.apiKey();
$('api-key').addEventListener('change', (e) => { api.setAPIKey(e.target.value.trim()); refreshPalette(); });
document.addEventListener('keydown', shortcut);
window.addEventListener('hashchange', route);
fileDrop($('dropzone'), dropped);
fileDrop($('stage'), dropped);
undo.reset(snapshot());
$('render').disabled = false;
route();
refreshPalette();
loadBuiltins()
  .then(() => { document.documentElement.dataset.fonts = 'ready'; stage.updateAll(); })
  .catch((e) => showErrors({ title: 'The engine fonts did not load', detail: String(e.message || e) }, null, 'upload-errors'));
