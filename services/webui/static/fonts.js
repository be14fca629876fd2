// Fonts of the preview. The engine draws text with its own font files and
// sizes a line by the font's hhea ascent + descent (render/text): `size`
// is that line height as a fraction of the frame height, so the em is
// size × unitsPerEm / (ascent + descent). The studio loads the same files
// (the built-ins from /ui/fonts/, an uploaded font from the file the
// person picked), reads the same two numbers from them, and pins the
// browser's line box to them, so that the preview's text has the engine's
// glyphs, advances and line height.

export const BUILTIN_FONTS = [
  { key: 'sans', label: 'Sans (Go Regular)' },
  { key: 'serif', label: 'Serif (DejaVu Serif)' },
  { key: 'mono', label: 'Mono (Go Mono)' },
];

const faces = new Map(); // font key (a built-in name or an asset id) → Promise<{family, em}>
const ems = new Map(); // font key → em per line height, once loaded

/** family is the CSS font family name the preview uses for a font key. */
export const family = (key) => `stk-${key}`;

/**
 * metrics reads unitsPerEm (head) and ascent/descent (hhea) from a
 * TrueType/OpenType font or the first font of a collection, as
 * golang.org/x/image/font/sfnt does. Implausible values fall back to the
 * engine's 0.8/0.2 of the em.
 */
export function metrics(buf) {
  const v = new DataView(buf);
  let base = 0;
  if (v.getUint32(0) === 0x74746366) base = v.getUint32(12); // 'ttcf': the first font
  const tables = v.getUint16(base + 4);
  const find = (tag) => {
    for (let i = 0; i < tables; i++) {
      const rec = base + 12 + 16 * i;
      const t = String.fromCharCode(v.getUint8(rec), v.getUint8(rec + 1), v.getUint8(rec + 2), v.getUint8(rec + 3));
      if (t === tag) return v.getUint32(rec + 8);
    }
    throw new Error(`no ${tag} table`);
  };
  const upem = v.getUint16(find('head') + 18);
  const hhea = find('hhea');
  let ascent = v.getInt16(hhea + 4);
  let descent = -v.getInt16(hhea + 6);
  const line = ascent + descent;
  if (ascent <= 0 || descent < 0 || line < upem / 4 || line > 4 * upem) [ascent, descent] = [0.8 * upem, 0.2 * upem];
  return { upem, ascent, descent };
}

/**
 * loadFont registers a font's bytes under its key and resolves to
 * {family, em}: em is the em size per line height. The browser's ascent
 * and descent are overridden with the hhea ones and the line gap with 0,
 * so a line-height of one line height puts the baseline where the engine
 * puts it.
 */
export function loadFont(key, bytesPromise) {
  if (!faces.has(key)) {
    faces.set(key, (async () => {
      const buf = await bytesPromise;
      const m = metrics(buf);
      const pct = (x) => `${(100 * x / m.upem).toFixed(4)}%`;
      const face = new FontFace(family(key), buf, {
        ascentOverride: pct(m.ascent), descentOverride: pct(m.descent), lineGapOverride: '0%',
      });
      await face.load();
      document.fonts.add(face);
      ems.set(key, m.upem / (m.ascent + m.descent));
      return { family: family(key), em: ems.get(key) };
    })());
  }
  return faces.get(key);
}

/** loadBuiltins starts loading the engine's three fonts. */
export function loadBuiltins() {
  return Promise.all(BUILTIN_FONTS.map(({ key }) => loadFont(key,
    fetch(`/ui/fonts/${key}.ttf`).then((r) => {
      if (!r.ok) throw new Error(`font ${key}: HTTP ${r.status}`);
      return r.arrayBuffer();
    }))));
}

/**
 * emOf is the em per line height of a loaded font; until it has loaded,
 * that of the Go fonts (the built-in serif's is within 1 % of it).
 */
export function emOf(key) {
  return ems.get(key) || 0.865;
}

/** loaded reports whether a font's face is in the document. */
export const loaded = (key) => ems.has(key);

/**
 * fontStack is the CSS font-family of a text sticker: its font, then the
 * other built-ins in the engine's order, then the colour emoji font, as
 * the engine falls back for characters a font lacks.
 */
export function fontStack(key) {
  const keys = [key, ...BUILTIN_FONTS.map((f) => f.key).filter((k) => k !== key)];
  return [...keys.map((k) => `"${family(k)}"`), '"Noto Color Emoji"', 'sans-serif'].join(', ');
}
