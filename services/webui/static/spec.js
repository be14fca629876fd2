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
 *   stickers: [{kind: 'builtin', name} | {kind: 'asset', assetId}
 *              | {kind: 'text', text, color, size, outline, strokeColor, background, font},
 *              each with x, y (centre, 0..1 of the stage), width (0..1 of its width; images),
 *              rotation (degrees), opacity (0..1), start, end (seconds or null), animation,
 *              keyframes [{t (from start), x, y, width (images), rotation, opacity, easing}]],
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

/** strokeWidth is the outline of a text sticker of a size: a sixteenth of its line. */
export const strokeWidth = (size) => round(size / 16);

function buildSticker(st) {
  const out = {};
  const text = st.kind === 'text';
  if (text) {
    Object.assign(out, { type: 'text', text: st.text, font: st.font || 'sans', size: round(st.size), color: colour(st.color) });
    if (st.outline) Object.assign(out, { stroke_color: colour(st.strokeColor || '#000000'), stroke_width: strokeWidth(st.size) });
    if (st.background) out.background = colour(st.background);
  } else {
    out.type = 'image';
    if (st.kind === 'builtin') out.builtin = st.name;
    else out.asset_id = st.assetId;
  }
  out.x = round(clamp(st.x, 0, 1));
  out.y = round(clamp(st.y, 0, 1));
  if (!text) out.width = round(clamp(st.width, 0.001, 1));
  if (isNum(st.rotation) && round(st.rotation, 2) !== 0) out.rotation = round(st.rotation, 2);
  if (isNum(st.opacity) && st.opacity < 1) out.opacity = round(clamp(st.opacity, 0, 1), 3);
  if (isNum(st.start) && st.start > 0) out.start = round(st.start, 3);
  if (isNum(st.end)) out.end = round(st.end, 3);
  if (st.animation && st.animation !== 'none') out.animation = st.animation;
  if (st.keyframes && st.keyframes.length) out.keyframes = st.keyframes.map((k) => buildKeyframe(k, text));
  return out;
}

// buildKeyframe writes one keyframe. The studio's keyframes hold every
// property; a text sticker's have no width (its size is its own).
function buildKeyframe(k, text) {
  const out = { t: round(k.t, 3) };
  if (isNum(k.x)) out.x = round(clamp(k.x, 0, 1));
  if (isNum(k.y)) out.y = round(clamp(k.y, 0, 1));
  if (!text && isNum(k.width)) out.width = round(clamp(k.width, 0.001, 4));
  if (isNum(k.rotation)) out.rotation = round(k.rotation, 2);
  if (isNum(k.opacity)) out.opacity = round(clamp(k.opacity, 0, 1), 3);
  if (k.easing && k.easing !== 'linear') out.easing = k.easing;
  return out;
}

export const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/**
 * buildTemplate turns a project into a template definition
 * (POST /v1/templates): each sticker marked as a variable ({name, label})
 * becomes a placeholder — a text sticker's text (a text variable), a
 * built-in picture's name (a text variable limited to the catalogue), an
 * uploaded picture's asset id (an asset variable) — whose default is what
 * the studio shows.
 */
export function buildTemplate(project, name, builtinNames = []) {
  const spec = buildSpec(project);
  const variables = {};
  project.stickers.forEach((st, i) => {
    const v = st.variable;
    if (!v || !v.name) return;
    const out = spec.stickers[i];
    const decl = { label: v.label || v.name };
    if (st.kind === 'text') {
      out.text = `{{${v.name}}}`;
      Object.assign(decl, { type: 'text', default: st.text, max_length: 500 });
    } else if (st.kind === 'builtin') {
      out.builtin = `{{${v.name}}}`;
      Object.assign(decl, { type: 'text', default: st.name });
      if (builtinNames.length) decl.enum = builtinNames;
    } else {
      out.asset_id = `{{${v.name}}}`;
      Object.assign(decl, { type: 'asset', default: st.assetId });
    }
    variables[v.name] = decl;
  });
  return { name, spec, variables };
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
    (st.keyframes || []).forEach((k, j) => {
      if (j > 0 && !(round(k.t, 3) > round(st.keyframes[j - 1].t, 3))) {
        add(`${p}.keyframes[${j}].t`, 'keyframe times must increase');
      }
    });
  });
  return problems;
}

/** checkTemplate lists what keeps a project from being saved as a template. */
export function checkTemplate(project, name) {
  const problems = checkProject(project);
  const add = (field, message) => problems.push({ field, message });
  if (!String(name || '').trim()) add('name', 'give the template a name');
  const seen = new Set();
  project.stickers.forEach((st, i) => {
    const v = st.variable;
    if (!v) return;
    const f = `stickers[${i}].variable`;
    if (!VARIABLE_NAME.test(v.name || '')) add(f, 'a variable name is a letter or _ followed by letters, digits or _');
    else if (seen.has(v.name)) add(f, `${v.name} names two stickers`);
    seen.add(v.name);
  });
  if (seen.size === 0) add('variables', 'mark at least one text or picture as a variable');
  return problems;
}
