// The keyframe track under the playhead: the selected sticker's keyframes
// as diamonds at their times. A diamond is picked with a click (the
// playhead jumps to it and its easing shows), dragged along the track to
// change its time, and moved with the arrow keys. Keyframes stay in time
// order: a dragged one stops a hundredth of a second from its neighbours.

import { EASINGS } from './motion.js';
import { clamp, round } from './spec.js';

const $ = (id) => document.getElementById(id);
const GAP = 0.01; // seconds between two keyframes, at least

export class Timeline {
  /**
   * @param {HTMLElement} track the element the diamonds sit on
   * @param {{duration(): number, seek(t), changed(done), remove(kf)}} hooks
   */
  constructor(track, hooks) {
    this.track = track;
    this.hooks = hooks;
    this.st = null;
    this.selected = null; // a keyframe object of this.st
    this.dragging = null; // the diamond being dragged
    for (const e of EASINGS) $('kf-easing').append(new Option(e, e));
    $('kf-easing').addEventListener('change', (e) => {
      if (!this.selected) return;
      this.selected.easing = e.target.value;
      this.hooks.changed(true);
    });
    $('kf-delete').addEventListener('click', () => this.selected && this.hooks.remove(this.selected));
  }

  /** show lists st's keyframes (null: none). */
  show(st) {
    if (st !== this.st) this.selected = null;
    this.st = st;
    this.render();
  }

  select(kf) {
    this.selected = kf;
    this.render();
  }

  // x is where a sticker-local time sits on the track, as a CSS length:
  // the range input's thumb centre runs from half a thumb in from each end.
  x(t) {
    const f = clamp(((this.st.start || 0) + t) / this.hooks.duration(), 0, 1);
    return `calc(var(--thumb) / 2 + (100% - var(--thumb)) * ${f})`;
  }

  render() {
    if (this.dragging) {
      // The diamond under the pointer keeps its element (and the capture).
      this.dragging.style.left = this.x(this.selected.t);
      this.label();
      return;
    }
    const st = this.st;
    $('kf-add').disabled = !st;
    const kfs = st ? st.keyframes : [];
    if (!kfs.includes(this.selected)) this.selected = null;
    const diamonds = kfs.map((kf, i) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = `kf${kf === this.selected ? ' selected' : ''}`;
      b.dataset.index = String(i);
      b.style.left = this.x(kf.t);
      b.setAttribute('aria-label', `Keyframe ${i + 1} at ${round((st.start || 0) + kf.t, 2)} s`);
      b.addEventListener('pointerdown', (e) => this.drag(e, kf, b));
      b.addEventListener('keydown', (e) => this.key(e, kf));
      return b;
    });
    this.track.replaceChildren(...diamonds);
    this.label();
  }

  // label shows the picked keyframe's time and easing.
  label() {
    const kf = this.selected;
    $('kf-panel').hidden = !kf;
    if (!kf) return;
    const kfs = this.st.keyframes;
    $('kf-label').textContent = `Keyframe ${kfs.indexOf(kf) + 1} of ${kfs.length}, at ${((this.st.start || 0) + kf.t).toFixed(2)} s`;
    $('kf-easing').value = kf.easing || 'linear';
  }

  // bounds are the local times a keyframe may move between.
  bounds(kf) {
    const kfs = this.st.keyframes;
    const i = kfs.indexOf(kf);
    const end = (this.st.end == null ? this.hooks.duration() : this.st.end) - (this.st.start || 0);
    return [i > 0 ? kfs[i - 1].t + GAP : 0, i < kfs.length - 1 ? kfs[i + 1].t - GAP : Math.max(end, 0)];
  }

  moveTo(kf, t) {
    const [lo, hi] = this.bounds(kf);
    kf.t = round(clamp(t, lo, hi), 2);
    this.hooks.seek((this.st.start || 0) + kf.t);
  }

  drag(e, kf, el) {
    if (e.button !== 0) return;
    e.preventDefault();
    el.focus({ preventScroll: true });
    this.selected = kf;
    this.hooks.seek((this.st.start || 0) + kf.t);
    const rect = this.track.getBoundingClientRect();
    const thumb = parseFloat(getComputedStyle(this.track).getPropertyValue('--thumb')) || 16;
    const span = rect.width - thumb;
    const t0 = kf.t;
    const x0 = e.clientX;
    let moved = false;
    el.setPointerCapture(e.pointerId);
    this.dragging = el;
    const move = (ev) => {
      moved = true;
      this.moveTo(kf, t0 + ((ev.clientX - x0) / span) * this.hooks.duration());
      this.hooks.changed(false);
    };
    const end = () => {
      el.removeEventListener('pointermove', move);
      el.removeEventListener('pointerup', end);
      el.removeEventListener('pointercancel', end);
      this.dragging = null;
      this.hooks.changed(moved);
      this.render();
      this.track.querySelector('.kf.selected')?.focus({ preventScroll: true });
    };
    el.addEventListener('pointermove', move);
    el.addEventListener('pointerup', end);
    el.addEventListener('pointercancel', end);
  }

  key(e, kf) {
    const step = e.shiftKey ? 0.5 : 0.05;
    switch (e.key) {
      case 'ArrowLeft': this.moveTo(kf, kf.t - step); break;
      case 'ArrowRight': this.moveTo(kf, kf.t + step); break;
      case 'Delete': case 'Backspace': e.preventDefault(); this.hooks.remove(kf); return;
      default: return;
    }
    e.preventDefault();
    this.selected = kf;
    this.hooks.changed(true);
    this.render();
    this.track.querySelector('.kf.selected')?.focus({ preventScroll: true });
  }
}
