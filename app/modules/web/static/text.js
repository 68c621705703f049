// Message text shown as text: only http(s) links become elements, built one node at a time.

const LINK = /\bhttps?:\/\/[^\s<>"]+[^\s<>".,;:!?)\]'"]/g;

/** Fill `element` with `body`: text nodes, and <a> for http/https URLs; never markup. */
export function renderBody(element, body) {
  element.replaceChildren();
  let at = 0;
  for (const match of body.matchAll(LINK)) {
    element.append(document.createTextNode(body.slice(at, match.index)));
    element.append(link(match[0]));
    at = match.index + match[0].length;
  }
  element.append(document.createTextNode(body.slice(at)));
}

function link(text) {
  let url;
  try {
    url = new URL(text);
  } catch {
    return document.createTextNode(text);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return document.createTextNode(text);
  const anchor = document.createElement("a");
  anchor.href = url.href;
  anchor.textContent = text;
  anchor.target = "_blank";
  anchor.rel = "noopener noreferrer nofollow";
  return anchor;
}

/** A small element helper: `el("li", {class: "x"}, "text", child)`; text always as text nodes. */
export function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : value);
  }
  element.append(...children.filter((child) => child !== null && child !== undefined));
  return element;
}
