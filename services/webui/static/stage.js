// The stage: the source (a video or a blank canvas) with the stickers over
// it. Stickers are placed in fractions of the stage, as the spec places them
// in fractions of the output frame, so the stage may be any size on screen.

import { clamp } from './spec.js';

const MIN_WIDTH = 0.02;
const MIN_SIZE = 0.02;
const MAX_SIZE = 0.5;

export class Stage {
  /**
   * @param {HTMLElement} el the stage element
   * @param {{onSelect(id), onChange(sticker, done), onRemove(id)}} hooks
   */
  constructor(el, hooks) {
    this.el = el;
    this.hooks = hooks;
    this.items = new Map(); // id → {st, el}
    this.selected = null;
    this.media = null;
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

  /** add puts a sticker on the stage; st is the page's sticker object, which the stage moves and resizes. */
  add(st, imageSrc) {
    const el = document.createElement('div');
    el.className = `sticker ${st.kind === 'text' ? 'is-text' : 'is-image'}`;
    el.tabIndex = 0;
    el.dataset.id = st.id;
    el.setAttribute('role', 'button');
    el.setAttribute('aria-describedby', 'stage-help');
    if (st.kind === 'text') {
      el.append(Object.assign(document.createElement('span'), { className: 'text' }));
    } else {
      const img = Object.assign(document.createElement('img'), { alt: '', draggable: false });
      img.addEventListener('error', () => {
        img.replaceWith(Object.assign(document.createElement('span'), { className: 'fallback', textContent: st.label }));
      }, { once: true });
      if (imageSrc) img.src = imageSrc;
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

  /** update redraws a sticker from its object. */
  update(st) {
    const item = this.items.get(st.id);
    if (!item) return;
    const { el } = item;
    el.style.left = `${st.x * 100}%`;
    el.style.top = `${st.y * 100}%`;
    if (st.kind === 'text') {
      const span = el.querySelector('.text');
      span.textContent = st.text || ' ';
      el.style.setProperty('--size', String(st.size));
      el.style.color = st.color;
      el.classList.toggle('outlined', !!st.outline);
    } else {
      el.style.width = `${st.width * 100}%`;
    }
    el.setAttribute('aria-label',
      `${st.label}, centre at ${Math.round(st.x * 100)}% across and ${Math.round(st.y * 100)}% down`);
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

  /** setTime dims the stickers that are not shown at t seconds. */
  setTime(t) {
    for (const { st, el } of this.items.values()) {
      const on = t >= (st.start || 0) && (st.end == null || t < st.end);
      el.classList.toggle('off-time', !on);
    }
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
    const start = { px: e.clientX, py: e.clientY, x: st.x, y: st.y, width: st.width, size: st.size };
    el.setPointerCapture(e.pointerId);
    el.classList.add('dragging');
    const move = (ev) => {
      const dx = (ev.clientX - start.px) / rect.width;
      const dy = (ev.clientY - start.py) / rect.height;
      if (resize && st.kind === 'text') st.size = clamp(start.size + 2 * dy, MIN_SIZE, MAX_SIZE);
      else if (resize) st.width = clamp(start.width + 2 * dx, MIN_WIDTH, 1);
      else {
        st.x = clamp(start.x + dx, 0, 1);
        st.y = clamp(start.y + dy, 0, 1);
      }
      this.update(st);
      this.hooks.onChange(st, false);
    };
    const end = () => {
      el.removeEventListener('pointermove', move);
      el.removeEventListener('pointerup', end);
      el.removeEventListener('pointercancel', end);
      el.classList.remove('dragging');
      this.hooks.onChange(st, true);
    };
    el.addEventListener('pointermove', move);
    el.addEventListener('pointerup', end);
    el.addEventListener('pointercancel', end);
  }

  // key moves the selected sticker with the arrow keys (Shift: 5% steps),
  // resizes it with + and -, removes it with Delete.
  key(e, st) {
    const step = e.shiftKey ? 0.05 : 0.01;
    const grow = (f) => {
      if (st.kind === 'text') st.size = clamp(st.size * f, MIN_SIZE, MAX_SIZE);
      else st.width = clamp(st.width * f, MIN_WIDTH, 1);
    };
    switch (e.key) {
      case 'ArrowLeft': st.x = clamp(st.x - step, 0, 1); break;
      case 'ArrowRight': st.x = clamp(st.x + step, 0, 1); break;
      case 'ArrowUp': st.y = clamp(st.y - step, 0, 1); break;
      case 'ArrowDown': st.y = clamp(st.y + step, 0, 1); break;
      case '+': case '=': grow(1.1); break;
      case '-': case '_': grow(1 / 1.1); break;
      case 'Delete': case 'Backspace': this.hooks.onRemove(st.id); e.preventDefault(); return;
      case 'Escape': this.select(null); e.target.blur(); return;
      default: return;
    }
    e.preventDefault();
    this.update(st);
    this.hooks.onChange(st, true);
  }
}
