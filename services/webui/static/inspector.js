// The inspector: the form that edits the selected sticker's text, size,
// place, timing and animation.

import { ANIMATIONS, clamp } from './spec.js';

const $ = (id) => document.getElementById(id);

export class Inspector {
  /** @param {{onChange(st), onRemove(id), playhead(): number}} hooks */
  constructor(form, hooks) {
    this.form = form;
    this.hooks = hooks;
    this.st = null;
    const select = $('insp-animation');
    for (const a of ANIMATIONS) select.append(new Option(a, a));
    form.addEventListener('submit', (e) => e.preventDefault());
    const bind = (id, apply) => $(id).addEventListener('input', (e) => {
      if (!this.st) return;
      apply(this.st, e.target);
      this.hooks.onChange(this.st);
    });
    bind('insp-text', (st, el) => { st.text = el.value; });
    bind('insp-color', (st, el) => { st.color = el.value.toUpperCase(); });
    bind('insp-outline', (st, el) => { st.outline = el.checked; });
    bind('insp-size', (st, el) => { st.size = Number(el.value); });
    bind('insp-width', (st, el) => { st.width = Number(el.value); });
    bind('insp-x', (st, el) => { if (el.value !== '') st.x = clamp(Number(el.value), 0, 1); });
    bind('insp-y', (st, el) => { if (el.value !== '') st.y = clamp(Number(el.value), 0, 1); });
    bind('insp-start', (st, el) => { st.start = el.value === '' ? null : Math.max(0, Number(el.value)); });
    bind('insp-end', (st, el) => { st.end = el.value === '' ? null : Math.max(0, Number(el.value)); });
    bind('insp-animation', (st, el) => { st.animation = el.value; });
    $('insp-start-now').addEventListener('click', () => this.setTime('start'));
    $('insp-end-now').addEventListener('click', () => this.setTime('end'));
    $('insp-remove').addEventListener('click', () => this.st && this.hooks.onRemove(this.st.id));
  }

  setTime(which) {
    if (!this.st) return;
    this.st[which] = Math.round(this.hooks.playhead() * 100) / 100;
    this.refresh();
    this.hooks.onChange(this.st);
  }

  /** show edits st, or hides the form for null. */
  show(st) {
    this.st = st;
    this.form.hidden = !st;
    $('inspector-empty').hidden = !!st;
    if (!st) return;
    this.form.classList.toggle('for-text', st.kind === 'text');
    this.form.classList.toggle('for-image', st.kind !== 'text');
    $('insp-name').textContent = st.kind === 'text' ? 'Text sticker' : st.label;
    this.refresh(true);
  }

  /** refresh copies the sticker into the form, leaving alone a field being typed in. */
  refresh(all = false) {
    const st = this.st;
    if (!st) return;
    const set = (id, prop, value) => {
      const el = $(id);
      if (all || document.activeElement !== el) el[prop] = value;
    };
    const num = (v, digits) => (v == null ? '' : String(Math.round(v * 10 ** digits) / 10 ** digits));
    if (st.kind === 'text') {
      set('insp-text', 'value', st.text);
      set('insp-color', 'value', st.color.slice(0, 7).toLowerCase());
      set('insp-outline', 'checked', !!st.outline);
      set('insp-size', 'value', String(st.size));
    } else {
      set('insp-width', 'value', String(st.width));
    }
    set('insp-x', 'value', num(st.x, 3));
    set('insp-y', 'value', num(st.y, 3));
    set('insp-start', 'value', num(st.start, 2));
    set('insp-end', 'value', num(st.end, 2));
    set('insp-animation', 'value', st.animation || 'none');
  }
}
