// The import page's progress bar: polls the job's small JSON endpoint and reloads the
// page when the job moves on (preview ready, imported, failed). No inline scripts: the
// CSP allows only files from 'self'. Without JavaScript the page refreshes itself.
(() => {
  const box = document.querySelector("[data-import-progress]");
  if (!box) return;
  const bar = box.querySelector(".progress-bar");
  const holder = box.querySelector(".progress");
  const text = box.querySelector("[data-progress-text]");
  const template = text ? text.textContent : "";

  const show = (data) => {
    const pct = Math.max(0, Math.min(100, data.percent || 0));
    bar.style.width = `${pct}%`;
    bar.textContent = `${pct}%`;
    holder.setAttribute("aria-valuenow", String(pct));
    if (text && data.total) {
      // The server's sentence with its two numbers replaced: no strings to translate here.
      const numbers = template.match(/\d[\d,]*/g) || [];
      let sentence = template;
      if (numbers.length >= 2) {
        sentence = sentence.replace(numbers[0], String(data.done)).replace(numbers[1], String(data.total));
      }
      text.textContent = sentence;
    }
  };

  const poll = async () => {
    try {
      const response = await fetch(box.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (response.ok) {
        const data = await response.json();
        if (data.finished) {
          window.location.reload();
          return;
        }
        show(data);
      }
    } catch (_error) {
      // A dropped connection: try again at the next tick.
    }
    window.setTimeout(poll, 1000);
  };
  window.setTimeout(poll, 1000);
})();
