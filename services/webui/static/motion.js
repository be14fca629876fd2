// Keyframes and animation presets, evaluated as the engine evaluates them
// (render/motion, docs/api.md 2.8 and 2.9), so that the stage shows at the
// playhead what the render will show at that time. Pure functions only.

export const EASINGS = ['linear', 'ease-in', 'ease-out', 'ease-in-out', 'step'];

/** PROPS are the properties keyframes animate. */
export const PROPS = ['x', 'y', 'width', 'rotation', 'opacity'];

/** ease maps segment progress u (0..1) through an easing. */
export function ease(easing, u) {
  u = Math.min(1, Math.max(0, u));
  switch (easing) {
    case 'ease-in': return u * u;
    case 'ease-out': return 1 - (1 - u) * (1 - u);
    case 'ease-in-out': return u < 0.5 ? 2 * u * u : 1 - 2 * (1 - u) * (1 - u);
    case 'step': return u >= 1 ? 1 : 0;
    default: return u;
  }
}

/** trackAt evaluates keys [{t, v, easing}] at t, holding the ends. */
export function trackAt(track, t) {
  if (t < track[0].t) return track[0].v;
  for (let i = 1; i < track.length; i++) {
    const a = track[i - 1];
    const b = track[i];
    if (t < b.t) return a.v + (b.v - a.v) * ease(b.easing, (t - a.t) / (b.t - a.t));
  }
  return track[track.length - 1].v;
}

// preset expands an animation preset over a window of d seconds.
function preset(name, d, { x, y, width: w, rotation: r, opacity: o }) {
  const inT = Math.min(0.5, d / 2);
  const k = (t, v, easing = 'linear') => ({ t, v, easing });
  switch (name) {
    case 'fade-in': return { opacity: [k(0, 0), k(inT, o, 'ease-out')] };
    case 'fade-out': return { opacity: [k(d - inT, o), k(d, 0, 'ease-in')] };
    case 'pop': {
      const a = Math.min(0.2, d / 3);
      const b = Math.min(0.35, d / 2);
      return { width: [k(0, w * 0.05), k(a, w * 1.2, 'ease-out'), k(b, w, 'ease-in-out')], opacity: [k(0, 0), k(a / 2, o)] };
    }
    case 'bounce': {
      const tr = [];
      for (let t = 0; t < d && tr.length < 400; t += 0.6) tr.push(k(t, y, 'ease-in'), k(t + 0.3, y - 0.06, 'ease-out'));
      tr.push(k(tr[tr.length - 1].t + 0.3, y, 'ease-in'));
      return { y: tr };
    }
    case 'spin': return { rotation: [k(0, r), k(d, r + 180 * d)] };
    case 'slide-in-left': return { x: [k(0, -w / 2 - 0.01), k(inT, x, 'ease-out')] };
    case 'slide-in-right': return { x: [k(0, 1 + w / 2 + 0.01), k(inT, x, 'ease-out')] };
    case 'slide-in-top': return { y: [k(0, -0.5), k(inT, y, 'ease-out')] };
    case 'slide-in-bottom': return { y: [k(0, 1.5), k(inT, y, 'ease-out')] };
    default: return {};
  }
}

/**
 * propsAt is a sticker's x, y, width, rotation and opacity at local time
 * t (seconds from its start), d being how long it is visible. base holds
 * its own values; keyframes [{t, x?, y?, …, easing}] win over the preset
 * for the properties they set, and a property first keyed after t = 0
 * starts from its own value.
 */
export function propsAt(base, keyframes, animation, t, d) {
  const pre = preset(animation, d, base);
  const out = {};
  for (const p of PROPS) {
    const keys = [];
    for (const kf of keyframes || []) {
      if (typeof kf[p] !== 'number') continue;
      if (keys.length === 0 && kf.t > 0) keys.push({ t: 0, v: base[p], easing: 'linear' });
      keys.push({ t: kf.t, v: kf[p], easing: kf.easing || 'linear' });
    }
    const track = keys.length ? keys : pre[p];
    out[p] = track ? trackAt(track, t) : base[p];
  }
  return out;
}
