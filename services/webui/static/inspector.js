// The inspector: the form that edits the selected sticker. Place, size,
// rotation and opacity show the values at the playhead and change through
// the page's edit (which writes to the keyframe at the playhead once the
// sticker has keyframes); the rest are the sticker's own.

import { ANIMATIONS, clamp } from './spec.js';
import { BUILTIN_FONTS } from './fonts.js';

const $ = (id) => document.getElementById(id);
const UPLOAD_FONT = '__upload__';

export class Inspector {
  /**
   * @param {{edit(st, patch, done), set(st, done), valuesAt(st), onRemove(id),
   *          playhead(): number, uploadFont(file, st)}} hooks
   */
  constructor(form, hooks) {
    this.form = form;
    this.hooks = hooks;
    this.st = null;
    this.fonts = []; // uploaded fonts: {key: asset id, label}
    const select = $('insp-animation');
    for (const a of ANIMATIONS) select.append(new Option(a, a));
    this.fillFonts();
    form.addEventListener('submit', (e) => e.preventDefault());
    // Own properties: 'input' shows a change at once, 'change' ends it
    // (one step of undo).
    const own = (id, apply) => {
      for (const type of ['input', 'change']) {
        $(id).addEventListener(type, (e) => {
          if (!this.st || apply(this.st, e.target) === false) return;
          this.hooks.set(this.st, type === 'change');
        });
      }
    };
    own('insp-text', (st, el) => { st.text = el.value; });
    own('insp-color', (st, el) => { st.color = el.value.toUpperCase(); });
    own('insp-outline', (st, el) => { st.outline = el.checked; });
    own('insp-stroke-color', (st, el) => { st.strokeColor = el.value.toUpperCase(); });
    own('insp-bg-on', (st, el) => { st.background = el.checked ? $('insp-bg').value.toUpperCase() : null; });
    own('insp-bg', (st, el) => { if (!st.background) return false; st.background = el.value.toUpperCase(); });
    own('insp-size', (st, el) => { st.size = Number(el.value); });
    own('insp-start', (st, el) => { st.start = el.value === '' ? null : Math.max(0, Number(el.value)); });
    own('insp-end', (st, el) => { st.end = el.value === '' ? null : Math.max(0, Number(el.value)); });
    own('insp-animation', (st, el) => { st.animation = el.value; });
    own('insp-var-on', (st, el) => {
      st.variable = el.checked ? { name: $('insp-var-name').value || this.defaultName(st) } : null;
      this.refresh(true);
    });
    own('insp-var-name', (st, el) => { if (!st.variable) return false; st.variable.name = el.value.trim(); });
    $('insp-font').addEventListener('change', (e) => {
      if (!this.st) return;
      if (e.target.value === UPLOAD_FONT) {
        e.target.value = this.st.font || 'sans';
        $('font-file').click();
        return;
      }
      this.st.font = e.target.value;
      this.hooks.set(this.st, true);
    });
    $('font-file').addEventListener('change', (e) => {
      const file = e.target.files[0];
      e.target.value = '';
      if (file && this.st) this.hooks.uploadFont(file, this.st);
    });
    // Animated properties go through the page's edit.
    const anim = (id, read) => {
      for (const type of ['input', 'change']) {
        $(id).addEventListener(type, (e) => {
          if (!this.st || e.target.value === '') return;
          this.hooks.edit(this.st, read(e.target), type === 'change');
        });
      }
    };
    anim('insp-width', (el) => ({ width: Number(el.value) }));
    anim('insp-x', (el) => ({ x: clamp(Number(el.value), 0, 1) }));
    anim('insp-y', (el) => ({ y: clamp(Number(el.value), 0, 1) }));
    anim('insp-rotation', (el) => ({ rotation: clamp(Number(el.value), -36000, 36000) }));
    anim('insp-opacity', (el) => ({ opacity: clamp(Number(el.value), 0, 1) }));
    $('insp-start-now').addEventListener('click', () => this.setTime('start'));
    $('insp-end-now').addEventListener('click', () => this.setTime('end'));
    $('insp-remove').addEventListener('click', () => this.st && this.hooks.onRemove(this.st.id));
  }

  /** addFont lists an uploaded font (an asset id) in the font menu. */
  addFont(key, label) {
    if (!this.fonts.some((f) => f.key === key)) this.fonts.push({ key, label });
    this.fillFonts();
    this.refresh(true);
  }

  fillFonts() {
    const select = $('insp-font');
    select.replaceChildren(
      ...BUILTIN_FONTS.map((f) => new Option(f.label, f.key)),
      ...this.fonts.map((f) => new Option(f.label, f.key)),
      new Option('Upload a font…', UPLOAD_FONT));
  }

  defaultName(st) {
    const base = st.kind === 'text' ? 'text' : 'picture';
    return `${base}${st.id.replace(/\D/g, '')}`;
  }

  setTime(which) {
    if (!this.st) return;
    this.st[which] = Math.round(this.hooks.playhead() * 100) / 100;
    this.hooks.set(this.st, true);
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
    const v = this.hooks.valuesAt(st);
    if (st.kind === 'text') {
      set('insp-text', 'value', st.text);
      set('insp-font', 'value', st.font || 'sans');
      set('insp-color', 'value', st.color.slice(0, 7).toLowerCase());
      set('insp-outline', 'checked', !!st.outline);
      set('insp-stroke-color', 'value', (st.strokeColor || '#000000').toLowerCase());
      set('insp-bg-on', 'checked', !!st.background);
      if (st.background) set('insp-bg', 'value', st.background.slice(0, 7).toLowerCase());
      set('insp-size', 'value', String(st.size));
    } else {
      set('insp-width', 'value', String(v.width));
    }
    set('insp-x', 'value', num(v.x, 3));
    set('insp-y', 'value', num(v.y, 3));
    set('insp-rotation', 'value', num(v.rotation, 1));
    set('insp-opacity', 'value', String(v.opacity));
    set('insp-start', 'value', num(st.start, 2));
    set('insp-end', 'value', num(st.end, 2));
    set('insp-animation', 'value', st.animation || 'none');
    set('insp-var-on', 'checked', !!st.variable);
    set('insp-var-name', 'value', st.variable ? st.variable.name : '');
    $('insp-var-name').disabled = !st.variable;
  }
}
