// The stage: the source (a video or a blank canvas) with the stickers over
// it, as they are at the playhead. Stickers are placed in fractions of the
// stage, as the spec places them in fractions of the output frame, so the
// stage may be any size on screen. Text is drawn as the engine draws it:
// the engine's font files, its line height (size × the frame height), its
// outline outside the glyphs and its background box (see fonts.js).

import { clamp } from './spec.js';
import { propsAt } from './motion.js';
import { emOf, fontStack } from './fonts.js';

const MIN_WIDTH = 0.02;
const MIN_SIZE = 0.02;
const MAX_SIZE = 0.5;

export class Stage {
  /**
   * @param {HTMLElement} el the stage element
   * @param {{onSelect(id), edit(st, patch, done), onRemove(id)}} hooks:
   *   edit applies a change of x, y, width, rotation, opacity or size
   *   (the page decides whether it goes to a keyframe), done when a
   *   gesture ends
   */
  constructor(el, hooks) {
    this.el = el;
    this.hooks = hooks;
    this.items = new Map(); // id → {st, el}
    this.selected = null;
    this.media = null;
    this.t = 0; // the playhead, seconds
    this.duration = 4; // of the source
    el.addEventListener('pointerdown', (e) => {
      if (!e.target.closest('.sticker')) this.select(null);
    });
  }

  /** setAspect sizes the stage like the output frame. */
  setAspect(width, height) {
    this.el.style.setProperty('--aspect', `${width} / ${height}`);
    this.el.style.setProperty('--ratio', String(width / height));
  }

  /** showVideo puts a video in the stage and returns its element. */
  showVideo(url) {
    const video = document.createElement('video');
    Object.assign(video, { src: url, muted: true, playsInline: true, preload: 'auto', loop: true });
    video.className = 'stage-media';
    video.setAttribute('aria-label', 'Source video');
    this.setMedia(video);
    return video;
  }

  /** showCanvas fills the stage with a colour. */
  showCanvas(color) {
    const div = document.createElement('div');
    div.className = 'stage-media canvas';
    div.style.background = color;
    this.setMedia(div);
  }

  setMedia(node) {
    if (this.media) this.media.remove();
    this.el.querySelector('.stage-placeholder')?.remove();
    this.el.classList.remove('empty');
    this.media = node;
    this.el.prepend(node);
  }

  /** clearMedia empties the stage again (a source that was refused). */
  clearMedia(message) {
    if (this.media) this.media.remove();
    this.media = null;
    this.el.classList.add('empty');
    if (!this.el.querySelector('.stage-placeholder')) {
      this.el.prepend(Object.assign(document.createElement('p'), { className: 'stage-placeholder' }));
    }
    this.el.querySelector('.stage-placeholder').textContent = message;
  }

  /** add puts a sticker on the stage; st is the page's sticker object (see spec.js). */
  add(st) {
    const el = document.createElement('div');
    el.className = `sticker ${st.kind === 'text' ? 'is-text' : 'is-image'}`;
    el.tabIndex = 0;
    el.dataset.id = st.id;
    el.setAttribute('role', 'button');
    el.setAttribute('aria-describedby', 'stage-help');
    if (st.kind === 'text') {
      // Two layers of the same text: the outline under the fill, so that
      // the outline shows only outside the glyphs, as the engine draws it.
      const box = Object.assign(document.createElement('span'), { className: 'text' });
      const stroke = Object.assign(document.createElement('span'), { className: 'stroke' });
      stroke.setAttribute('aria-hidden', 'true');
      box.append(stroke, Object.assign(document.createElement('span'), { className: 'fill' }));
      el.append(box);
    } else {
      const img = Object.assign(document.createElement('img'), { alt: '', draggable: false });
      img.addEventListener('error', () => {
        img.replaceWith(Object.assign(document.createElement('span'), { className: 'fallback', textContent: st.label }));
      }, { once: true });
      if (st.src) img.src = st.src;
      el.append(img);
    }
    const handle = Object.assign(document.createElement('span'), { className: 'handle', title: 'Drag to resize' });
    handle.setAttribute('aria-hidden', 'true');
    el.append(handle);
    el.addEventListener('pointerdown', (e) => this.drag(e, st, el));
    el.addEventListener('keydown', (e) => this.key(e, st));
    el.addEventListener('focus', () => this.select(st.id));
    this.el.append(el);
    this.items.set(st.id, { st, el });
    this.update(st);
    return el;
  }

  /** clear removes every sticker. */
  clear() {
    for (const { el } of this.items.values()) el.remove();
    this.items.clear();
    this.select(null);
  }

  /**
   * valuesAt is what a sticker shows at the playhead: x, y, width
   * (for text, a scale of its natural width), rotation, opacity, and
   * whether it is visible then.
   */
  valuesAt(st, t = this.t) {
    const start = st.start || 0;
    const end = st.end == null ? this.duration : st.end;
    const base = { x: st.x, y: st.y, width: st.kind === 'text' ? 1 : st.width, rotation: st.rotation || 0, opacity: st.opacity ?? 1 };
    const v = propsAt(base, st.keyframes, st.animation, Math.max(0, t - start), Math.max(end - start, 0.001));
    v.on = t >= start && t < end;
    return v;
  }

  /** update redraws a sticker from its object at the playhead. */
  update(st) {
    const item = this.items.get(st.id);
    if (!item) return;
    const { el } = item;
    const v = this.valuesAt(st);
    el.style.left = `${v.x * 100}%`;
    el.style.top = `${v.y * 100}%`;
    let scale = '';
    if (st.kind === 'text') {
      const box = el.querySelector('.text');
      for (const layer of box.children) layer.textContent = st.text || ' ';
      box.style.fontFamily = fontStack(st.font || 'sans');
      el.style.setProperty('--size', String(st.size));
      el.style.setProperty('--em', String(emOf(st.font || 'sans')));
      el.style.setProperty('--stroke', st.outline ? String(st.size / 16) : '0');
      el.style.setProperty('--stroke-color', st.strokeColor || '#000000');
      el.style.setProperty('--fill', st.color);
      el.style.setProperty('--background', st.background || 'transparent');
      el.classList.toggle('outlined', !!st.outline);
      if (v.width !== 1) scale = ` scale(${v.width})`;
    } else {
      el.style.width = `${v.width * 100}%`;
    }
    el.style.transform = `translate(-50%, -50%) rotate(${v.rotation}deg)${scale}`;
    el.style.opacity = String(v.on ? v.opacity : 0.3);
    el.classList.toggle('off-time', !v.on);
    el.classList.toggle('keyed', (st.keyframes || []).length > 0);
    el.setAttribute('aria-label',
      `${st.label}, centre at ${Math.round(v.x * 100)}% across and ${Math.round(v.y * 100)}% down`);
  }

  /** updateAll redraws every sticker (a font has loaded, the playhead moved). */
  updateAll() {
    for (const { st } of this.items.values()) this.update(st);
  }

  remove(id) {
    const item = this.items.get(id);
    if (!item) return;
    item.el.remove();
    this.items.delete(id);
    if (this.selected === id) this.select(null);
  }

  select(id) {
    if (this.selected === id) return;
    this.selected = id;
    for (const [key, { el }] of this.items) el.classList.toggle('selected', key === id);
    this.hooks.onSelect(id);
  }

  focus(id) {
    this.items.get(id)?.el.focus();
  }

  /** setTime shows the stickers as they are at t seconds. */
  setTime(t) {
    this.t = t;
    this.updateAll();
  }

  // drag moves a sticker with the pointer, or resizes it from its corner
  // handle. Moves are relative to where the pointer went down, so the
  // sticker does not jump to centre itself under the pointer.
  drag(e, st, el) {
    if (e.button !== 0) return;
    e.preventDefault(); // no text selection, no native image drag
    el.focus({ preventScroll: true });
    const resize = e.target.classList.contains('handle');
    const rect = this.el.getBoundingClientRect();
    const v = this.valuesAt(st);
    const start = { px: e.clientX, py: e.clientY, x: v.x, y: v.y, width: v.width, size: st.size };
    el.setPointerCapture(e.pointerId);
    el.classList.add('dragging');
    const move = (ev) => {
      const dx = (ev.clientX - start.px) / rect.width;
      const dy = (ev.clientY - start.py) / rect.height;
      if (resize && st.kind === 'text') this.hooks.edit(st, { size: clamp(start.size + 2 * dy, MIN_SIZE, MAX_SIZE) }, false);
      else if (resize) this.hooks.edit(st, { width: clamp(start.width + 2 * dx, MIN_WIDTH, 1) }, false);
      else this.hooks.edit(st, { x: clamp(start.x + dx, 0, 1), y: clamp(start.y + dy, 0, 1) }, false);
    };
    const end = () => {
      el.removeEventListener('pointermove', move);
      el.removeEventListener('pointerup', end);
      el.removeEventListener('pointercancel', end);
      el.classList.remove('dragging');
      this.hooks.edit(st, {}, true);
    };
    el.addEventListener('pointermove', move);
    el.addEventListener('pointerup', end);
    el.addEventListener('pointercancel', end);
  }

  // key moves the selected sticker with the arrow keys (Shift: 5% steps),
  // resizes it with + and -, turns it with [ and ], removes it with Delete.
  key(e, st) {
    if (e.ctrlKey || e.metaKey || e.altKey) return; // the page's shortcuts (undo)
    const step = e.shiftKey ? 0.05 : 0.01;
    const v = this.valuesAt(st);
    const grow = (f) => (st.kind === 'text'
      ? { size: clamp(st.size * f, MIN_SIZE, MAX_SIZE) }
      : { width: clamp(v.width * f, MIN_WIDTH, 1) });
    let patch;
    switch (e.key) {
      case 'ArrowLeft': patch = { x: clamp(v.x - step, 0, 1) }; break;
      case 'ArrowRight': patch = { x: clamp(v.x + step, 0, 1) }; break;
      case 'ArrowUp': patch = { y: clamp(v.y - step, 0, 1) }; break;
      case 'ArrowDown': patch = { y: clamp(v.y + step, 0, 1) }; break;
      case '+': case '=': patch = grow(1.1); break;
      case '-': case '_': patch = grow(1 / 1.1); break;
      case '[': patch = { rotation: v.rotation - (e.shiftKey ? 15 : 5) }; break;
      case ']': patch = { rotation: v.rotation + (e.shiftKey ? 15 : 5) }; break;
      case '{': patch = { rotation: v.rotation - 15 }; break;
      case '}': patch = { rotation: v.rotation + 15 }; break;
      case 'Delete': case 'Backspace': this.hooks.onRemove(st.id); e.preventDefault(); return;
      case 'Escape': this.select(null); e.target.blur(); return;
      default: return;
    }
    e.preventDefault();
    this.hooks.edit(st, patch, true);
  }
}
