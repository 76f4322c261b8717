// Behaviour shared by every page. No inline scripts: the CSP allows only files from 'self'.
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el.matches("[data-autosubmit]")) el.form.submit();
});
document.addEventListener("submit", (event) => {
  const message = event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) event.preventDefault();
});

// A table wider than a phone scrolls sideways in its .table-responsive box; keyboard
// users reach such a box only if it can take focus (WCAG 2.1.1). Boxes that do not
// overflow, or that already hold a link or control to land on, are left alone; a
// template may also mark a box itself (tabindex, role, name).
function labelOf(box) {
  const caption = box.querySelector("caption");
  if (caption) return caption.textContent.trim();
  const headings = document.querySelectorAll("h1, h2, h3, h4, h5, h6");
  let label = document.title;
  for (const heading of headings) {
    if (heading.compareDocumentPosition(box) & Node.DOCUMENT_POSITION_FOLLOWING) {
      label = heading.textContent.trim();
    }
  }
  return label;
}
function markScrollingTables() {
  const focusable = "a[href], button, input, select, textarea, [tabindex]";
  for (const box of document.querySelectorAll(".table-responsive")) {
    if (box.hasAttribute("tabindex") && box.dataset.scrollMarked !== "script") continue;
    const needs = box.scrollWidth > box.clientWidth && !box.querySelector(focusable);
    if (needs && !box.dataset.scrollMarked) {
      box.setAttribute("tabindex", "0");
      box.setAttribute("role", "region");
      box.setAttribute("aria-label", labelOf(box));
      box.dataset.scrollMarked = "script";
    } else if (!needs && box.dataset.scrollMarked === "script") {
      box.removeAttribute("tabindex");
      box.removeAttribute("role");
      box.removeAttribute("aria-label");
      delete box.dataset.scrollMarked;
    }
  }
}
document.addEventListener("DOMContentLoaded", markScrollingTables);
let resizeTimer;
window.addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(markScrollingTables, 150);
});
