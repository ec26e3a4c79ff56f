// Building the page from data without HTML strings: every value from the API becomes text (never
// markup), so nothing a device reports can inject script or style. No style attributes either:
// the Content-Security-Policy allows only the stylesheet.

const SVG_NS = 'http://www.w3.org/2000/svg';

function setAttributes(element, attributes) {
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === false || value === null || value === undefined) {
      continue;
    }
    if (name === 'class') {
      element.setAttribute('class', value);
    } else if (name === 'text') {
      element.textContent = String(value);
    } else if (name === 'dataset') {
      Object.assign(element.dataset, value);
    } else if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2), value);
    } else {
      element.setAttribute(name, value === true ? '' : String(value));
    }
  }
}

function appendChildren(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

// h('a', {href: '#/x', class: 'c'}, 'text', otherNode): an HTML element.
export function h(tag, attributes, ...children) {
  const element = document.createElement(tag);
  setAttributes(element, attributes);
  appendChildren(element, children);
  return element;
}

// The same for SVG elements.
export function s(tag, attributes, ...children) {
  const element = document.createElementNS(SVG_NS, tag);
  setAttributes(element, attributes);
  appendChildren(element, children);
  return element;
}

// Replaces a container's children, keeping keyboard focus on the "same" control if the user was
// on one inside it (matched by data-key, else href), so live updates never steal focus.
export function replaceKeepingFocus(container, ...children) {
  const active = document.activeElement;
  const keyOf = (element) => element.dataset?.key ?? element.getAttribute?.('href') ?? null;
  const key = active && container.contains(active) ? keyOf(active) : null;
  container.replaceChildren();
  appendChildren(container, children);
  if (key !== null) {
    const again = [...container.querySelectorAll('[data-key], [href]')].find(
        (element) => keyOf(element) === key);
    again?.focus({preventScroll: true});
  }
}

// A table inside its own horizontally scrolling region (tables may be wider than a phone; the
// page never is). columns: [{label, numeric}]; rows: arrays of cells (nodes or text);
// rowKeys: optional data-key per row, for tests and focus keeping.
export function table({caption, columns, rows, empty, rowKeys, id}) {
  const captionId = `cap-${Math.random().toString(36).slice(2, 10)}`;
  const head = h('thead', null, h('tr', null, columns.map((column) =>
    h('th', {scope: 'col', class: column.numeric ? 'num' : null}, column.label))));
  const body = h('tbody');
  if (rows.length === 0) {
    body.append(h('tr', null, h('td', {colspan: columns.length, class: 'empty'}, empty)));
  }
  rows.forEach((cells, index) => {
    const row = h('tr', {'data-row': rowKeys ? rowKeys[index] : null});
    cells.forEach((cell, column) => {
      const numeric = columns[column].numeric;
      const tag = column === 0 ? 'th' : 'td';
      row.append(h(tag, {scope: column === 0 ? 'row' : null,
        class: [numeric ? 'num' : null, columns[column].wrap ? 'wrap' : null]
            .filter(Boolean).join(' ') || null}, cell));
    });
    body.append(row);
  });
  return h('div', {class: 'table-wrap', tabindex: '0', role: 'region', 'aria-labelledby': captionId,
                   id},
    h('table', null, h('caption', {id: captionId}, caption), head, body));
}

// A state badge ("active", "halted", "rolled_back"): text, so colour is never the only signal.
export function badge(state) {
  return h('span', {class: `badge badge-${state}`, 'data-state': state},
           String(state).replace('_', ' '));
}

// A <dl> of label/value pairs.
export function facts(pairs) {
  return h('dl', {class: 'facts'}, pairs.filter(Boolean).map(([label, value]) =>
    [h('dt', null, label), h('dd', null, value)]));
}
