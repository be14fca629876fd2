// The palette: the built-in stickers of GET /v1/stickers, and the ones the
// person uploaded. Picking an entry adds it to the stage.

import * as api from './api.js';

/** loadPalette fills container with the catalogue and returns it; onPick(entry) adds one. */
export async function loadPalette(container, onPick) {
  container.replaceChildren();
  const list = await api.listStickers();
  for (const s of list) {
    addEntry(container, {
      kind: 'builtin', name: s.name, label: s.title || s.name, animated: !!s.animated,
      src: api.stickerImageURL(s.name),
    }, onPick);
  }
  return list;
}

/** addEntry adds one button to the palette and returns it. */
export function addEntry(container, entry, onPick) {
  const item = document.createElement('div');
  item.setAttribute('role', 'listitem');
  const btn = document.createElement('button');
  btn.type = 'button';
  btn.className = 'palette-item';
  btn.dataset.name = entry.name || entry.assetId;
  btn.title = `Add ${entry.label}${entry.animated ? ' (animated)' : ''}`;
  btn.setAttribute('aria-label', btn.title);
  const img = Object.assign(document.createElement('img'), { alt: '', loading: 'lazy', draggable: false });
  const caption = Object.assign(document.createElement('span'), { className: 'caption', textContent: entry.label });
  img.addEventListener('error', () => {
    // No image (the endpoint may be missing): the name is the sticker.
    img.remove();
    btn.classList.add('no-image');
    entry.src = null;
  }, { once: true });
  btn.append(img, caption);
  btn.addEventListener('click', () => onPick(entry));
  item.append(btn);
  container.append(item);
  setImage(img, entry);
  return btn;
}

// setImage loads an entry's picture; with an API key it goes through fetch.
async function setImage(img, entry) {
  if (!entry.src) return;
  if (entry.src.startsWith('blob:')) {
    img.src = entry.src;
    return;
  }
  try {
    entry.src = await api.imageURL(entry.src);
    img.src = entry.src;
  } catch {
    img.dispatchEvent(new Event('error'));
  }
}
