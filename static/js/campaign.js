// Live figures on the campaign page: poll the API (session auth) while the campaign moves.
(function () {
  const stats = document.getElementById("stats");
  if (!stats) return;
  const bar = document.getElementById("progress-bar");
  const live = new Set(["running", "scheduled"]);
  function render(c) {
    for (const el of document.querySelectorAll("[data-field]")) {
      const key = el.dataset.field;
      if (!(key in c)) continue;
      el.textContent = key === "status" ? c.status.charAt(0).toUpperCase() + c.status.slice(1) : c[key];
      if (key === "status") el.className = "badge big " + c.status;
    }
    const done = c.total_recipients - c.pending - c.sending;
    bar.style.width = c.total_recipients ? (100 * done / c.total_recipients).toFixed(1) + "%" : "0";
  }
  async function tick() {
    try {
      const response = await fetch(stats.dataset.url, {headers: {Accept: "application/json"}});
      if (response.ok) {
        const c = await response.json();
        render(c);
        if (stats.dataset.status !== c.status && !live.has(c.status)) {
          window.location.reload();  // controls and reasons change with the status
          return;
        }
        stats.dataset.status = c.status;
      }
    } catch (e) { /* the next tick retries */ }
    setTimeout(tick, live.has(stats.dataset.status) ? 1500 : 10000);
  }
  tick();
})();
