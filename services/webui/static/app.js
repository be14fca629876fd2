// stickerd studio: pick a source, place stickers, render, watch the result.

import * as api from './api.js';
import { buildSpec, checkProject } from './spec.js';
import { Stage } from './stage.js';
import { Inspector } from './inspector.js';
import { loadPalette, addEntry } from './palette.js';
import { showErrors, hideErrors, size, fileDrop } from './ui.js';

const $ = (id) => document.getElementById(id);

// project is everything the spec is built from (see spec.js).
const project = { source: null, stickers: [], output: { format: 'mp4', quality: 'standard' } };
let nextID = 1;
let video = null; // the source video on the stage, if any
let duration = 4; // seconds of the source
let uploadToken = 0; // ignores an upload that a newer choice replaced
let following = null; // stops following the running job
let currentJob = null;

const stage = new Stage($('stage'), {
  onSelect: (id) => inspector.show(project.stickers.find((s) => s.id === id) || null),
  onChange: () => inspector.refresh(),
  onRemove: removeSticker,
});
const inspector = new Inspector($('inspector'), {
  onChange: (st) => { stage.update(st); stage.setTime(playhead()); },
  onRemove: removeSticker,
  playhead,
});

// --- source -------------------------------------------------------------

async function useVideo(file) {
  if (!/^video\//.test(file.type) && !/\.(mp4|mov|m4v|webm|mkv)$/i.test(file.name)) {
    showErrors({ title: `${file.name} is not a video`, detail: 'Pick an MP4, MOV, WebM or MKV file.' });
    return;
  }
  hideErrors();
  const token = ++uploadToken;
  video = stage.showVideo(URL.createObjectURL(file));
  stage.setAspect(16, 9);
  video.addEventListener('loadedmetadata', () => {
    stage.setAspect(video.videoWidth || 16, video.videoHeight || 9);
    setDuration(video.duration);
  });
  video.addEventListener('timeupdate', () => showTime(video.currentTime));
  project.source = { kind: 'asset', assetId: null };
  const bar = $('upload-progress');
  bar.hidden = false;
  bar.value = 0;
  $('upload-status').textContent = `Uploading ${file.name}…`;
  try {
    const asset = await api.uploadAsset(file, (p) => { bar.value = p; });
    if (token !== uploadToken) return;
    project.source.assetId = asset.id;
    if (!video.videoWidth && asset.width && asset.height) stage.setAspect(asset.width, asset.height);
    if (!video.duration && asset.duration) setDuration(asset.duration);
    $('upload-status').textContent = `Uploaded ${file.name} (${size(asset.bytes)}) as ${asset.id}.`;
  } catch (e) {
    if (token !== uploadToken) return;
    project.source = null;
    $('upload-status').textContent = 'The upload failed.';
    showErrors(e, `Uploading ${file.name} failed`);
  } finally {
    if (token === uploadToken) bar.hidden = true;
  }
}

function useCanvas() {
  const c = {
    kind: 'canvas', color: $('canvas-color').value, fps: 30,
    width: Number($('canvas-width').value), height: Number($('canvas-height').value),
    duration: Number($('canvas-duration').value),
  };
  if (!(c.width >= 16 && c.height >= 16 && c.duration > 0)) {
    showErrors({ title: 'The canvas needs a size of at least 16×16 and a duration' });
    return;
  }
  hideErrors();
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
  const st = { id: `s${nextID++}`, x: 0.5 + offset, y: 0.5 + offset, width: 0.2,
    start: null, end: null, animation: 'none', ...props };
  project.stickers.push(st);
  stage.add(st, props.src);
  stage.setTime(playhead());
  stage.focus(st.id);
}

function removeSticker(id) {
  project.stickers = project.stickers.filter((s) => s.id !== id);
  stage.remove(id);
}

function pickEntry(entry) {
  addSticker(entry.kind === 'builtin'
    ? { kind: 'builtin', name: entry.name, label: entry.label, src: entry.src }
    : { kind: 'asset', assetId: entry.assetId, label: entry.label, src: entry.src,
      width: entry.aspect < 1 ? 0.12 : 0.2 });
}

async function uploadSticker(file) {
  $('upload-status').textContent = `Uploading sticker ${file.name}…`;
  try {
    const asset = await api.uploadAsset(file);
    const entry = { kind: 'asset', assetId: asset.id, label: file.name, src: URL.createObjectURL(file),
      aspect: asset.width && asset.height ? asset.width / asset.height : 1 };
    addEntry($('palette'), entry, pickEntry);
    pickEntry(entry);
    $('upload-status').textContent = `Uploaded sticker ${file.name} as ${asset.id}.`;
  } catch (e) {
    showErrors(e, `Uploading ${file.name} failed`);
  }
}

// --- timeline -----------------------------------------------------------

function playhead() {
  return Number($('scrub').value);
}

function setDuration(d) {
  if (!Number.isFinite(d) || d <= 0) return;
  duration = d;
  $('scrub').max = String(d);
  showTime(Math.min(playhead(), d));
}

function showTime(t) {
  $('scrub').value = String(t);
  $('time').textContent = `${t.toFixed(2)} s`;
  stage.setTime(t);
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
}

function finish(job, cached) {
  if (following) following();
  following = null;
  setRendering(false, '');
  if (job.status !== 'succeeded') {
    const e = job.error || {};
    showErrors({ title: `Render ${job.status}`, code: e.code, detail: e.message });
    return;
  }
  const o = job.output;
  $('render-status').textContent = `Done${cached ? ' (rendered before)' : ''}: ${o.format} ${o.width}×${o.height}, `
    + `${o.duration.toFixed(2)} s, ${size(o.bytes)}.`;
  showResult(job).catch((e) => showErrors(e, 'Fetching the result failed'));
}

async function showResult(job) {
  const fmt = job.output.format;
  const url = await api.outputURL(job.id);
  const still = fmt === 'gif' || fmt === 'webp';
  const media = document.createElement(still ? 'img' : 'video');
  if (still) media.alt = 'The rendered result';
  else Object.assign(media, { controls: true, loop: true, playsInline: true });
  media.src = url;
  $('result-media').replaceChildren(media);
  Object.assign($('download'), { href: url, download: `${job.id}.${fmt}`, textContent: `Download ${fmt.toUpperCase()}` });
  $('result').hidden = false;
}

// --- wiring -------------------------------------------------------------

function dropped(file) {
  if (/^image\//.test(file.type)) uploadSticker(file);
  else useVideo(file);
}

async function refreshPalette() {
  try {
    await loadPalette($('palette'), pickEntry);
  } catch (e) {
    showErrors(e, 'Could not load the sticker catalogue');
  }
}

$('video-file').addEventListener('change', (e) => e.target.files[0] && useVideo(e.target.files[0]));
$('sticker-file').addEventListener('change', (e) => e.target.files[0] && uploadSticker(e.target.files[0]));
$('use-canvas').addEventListener('click', useCanvas);
$('add-text').addEventListener('click', () => addSticker({
  kind: 'text', label: 'Text', text: 'Hello 👋', color: '#FFFFFF', size: 0.08, outline: true, font: 'sans', y: 0.8,
}));
$('scrub').addEventListener('input', () => {
  if (video) video.currentTime = playhead();
  showTime(playhead());
});
$('play').addEventListener('click', togglePlay);
$('render').addEventListener('click', render);
$('cancel').addEventListener('click', () => currentJob && api.cancelRender(currentJob).catch((e) => showErrors(e)));
$('api-key').value = api.apiKey();
$('api-key').addEventListener('change', (e) => { api.setAPIKey(e.target.value.trim()); refreshPalette(); });
fileDrop($('dropzone'), dropped);
fileDrop($('stage'), dropped);
$('render').disabled = false;
refreshPalette();
