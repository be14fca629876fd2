// Builds a render request (sticker spec v1, docs/api.md) from what the
// page holds. Pure functions only: no DOM, no network, so that they can be
// tested on their own.

export const ANIMATIONS = ['none', 'fade-in', 'fade-out', 'pop', 'bounce', 'spin',
  'slide-in-left', 'slide-in-right', 'slide-in-top', 'slide-in-bottom'];
export const FORMATS = ['mp4', 'webm', 'gif', 'webp'];
export const QUALITIES = ['draft', 'standard', 'high'];
export const MAX_STICKERS = 64;

/** round keeps 4 decimals: a ten-thousandth of the frame is below a pixel of 4K. */
export function round(v, digits = 4) {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

export function clamp(v, lo, hi) {
  return Math.min(hi, Math.max(lo, v));
}

const isNum = (v) => typeof v === 'number' && Number.isFinite(v);

/** colour turns "#abc" or "#AABBCC" into the #RRGGBB the contract wants. */
export function colour(c) {
  const s = String(c || '').trim();
  if (/^#[0-9a-f]{3}$/i.test(s)) return ('#' + s.slice(1).split('').map((h) => h + h).join('')).toUpperCase();
  return s.toUpperCase();
}

/**
 * buildSpec turns a project into a spec.
 *
 * project = {
 *   source: {kind: 'asset', assetId} | {kind: 'canvas', color, width, height, duration, fps},
 *   stickers: [{kind: 'builtin', name} | {kind: 'asset', assetId} | {kind: 'text', text, color, size, outline, font},
 *              each with x, y (centre, 0..1 of the stage), width (0..1 of its width; images),
 *              start, end (seconds or null), animation],
 *   output: {format, quality},
 * }
 */
export function buildSpec(project) {
  const spec = { source: buildSource(project.source), stickers: project.stickers.map(buildSticker) };
  const out = project.output || {};
  spec.output = {};
  if (out.format && out.format !== 'mp4') spec.output.format = out.format;
  if (out.quality && out.quality !== 'standard') spec.output.quality = out.quality;
  if (Object.keys(spec.output).length === 0) delete spec.output;
  return spec;
}

function buildSource(src) {
  if (!src) return {};
  if (src.kind === 'asset') return { asset_id: src.assetId };
  const s = { color: colour(src.color), width: even(src.width), height: even(src.height), duration: round(src.duration, 3) };
  s.fps = isNum(src.fps) ? src.fps : 30;
  return s;
}

// even rounds a canvas side to an even number of pixels, which mp4 needs.
function even(v) {
  return Math.max(2, 2 * Math.round(v / 2));
}

function buildSticker(st) {
  const out = {};
  if (st.kind === 'text') {
    Object.assign(out, { type: 'text', text: st.text, font: st.font || 'sans', size: round(st.size), color: colour(st.color) });
    if (st.outline) Object.assign(out, { stroke_color: '#000000', stroke_width: round(st.size / 16) });
  } else {
    out.type = 'image';
    if (st.kind === 'builtin') out.builtin = st.name;
    else out.asset_id = st.assetId;
  }
  out.x = round(clamp(st.x, 0, 1));
  out.y = round(clamp(st.y, 0, 1));
  if (st.kind !== 'text') out.width = round(clamp(st.width, 0.001, 1));
  if (isNum(st.start) && st.start > 0) out.start = round(st.start, 3);
  if (isNum(st.end)) out.end = round(st.end, 3);
  if (st.animation && st.animation !== 'none') out.animation = st.animation;
  return out;
}

/**
 * checkProject lists what keeps a project from rendering, each with the
 * JSON path of the spec field it is about (the server's errors look alike).
 */
export function checkProject(project) {
  const problems = [];
  const add = (field, message) => problems.push({ field, message });
  const src = project.source;
  if (!src) add('source', 'pick a video or a blank canvas first');
  else if (src.kind === 'asset' && !src.assetId) add('source.asset_id', 'the video is still uploading');
  else if (src.kind === 'canvas' && !(src.duration > 0)) add('source.duration', 'must be more than 0 seconds');
  if (project.stickers.length === 0) add('stickers', 'add at least one sticker');
  if (project.stickers.length > MAX_STICKERS) add('stickers', `at most ${MAX_STICKERS} stickers`);
  project.stickers.forEach((st, i) => {
    const p = `stickers[${i}]`;
    if (st.kind === 'text' && !String(st.text || '').trim()) add(`${p}.text`, 'is empty');
    if (st.kind === 'asset' && !st.assetId) add(`${p}.asset_id`, 'the sticker is still uploading');
    if (isNum(st.start) && st.start < 0) add(`${p}.start`, 'must be 0 or more seconds');
    if (isNum(st.end) && st.end <= (isNum(st.start) ? st.start : 0)) add(`${p}.end`, 'must be after start');
  });
  return problems;
}
