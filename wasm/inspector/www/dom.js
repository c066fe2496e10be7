// DOM helpers shared by the page's modules (app.js, captures.js).

// The element with this id.
export const $ = (id) => document.getElementById(id);

// A new element: `attrs` are attributes, except `class`, `text` (textContent, never HTML)
// and `on<event>` (listeners); null and undefined children are skipped.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}
