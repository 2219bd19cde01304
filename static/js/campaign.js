// The campaign page's charts: the funnel and the per-minute timeline, drawn with Chart.js
// from the stats API (session auth), redrawn while the campaign moves. The figures beside
// them are an htmx fragment (_live.html) that polls itself.
(function () {
  const box = document.getElementById("charts");
  if (!box || typeof Chart === "undefined") return;
  const live = new Set(["running", "scheduled"]);
  const colors = {sent: "#64748b", delivered: "#128c7e", read: "#2563eb", failed: "#b42318", replied: "#9333ea"};
  const funnel = new Chart(document.getElementById("funnel-chart"), {
    type: "bar",
    data: {labels: ["Sent", "Delivered", "Read", "Replied"], datasets: [{data: [0, 0, 0, 0],
      backgroundColor: [colors.sent, colors.delivered, colors.read, colors.replied]}]},
    options: {indexAxis: "y", animation: false, plugins: {legend: {display: false}},
      scales: {x: {beginAtZero: true, ticks: {precision: 0}}}, maintainAspectRatio: false},
  });
  const kinds = ["sent", "delivered", "read", "failed"];
  const timeline = new Chart(document.getElementById("timeline-chart"), {
    type: "bar",  // bars: a campaign of a few minutes is a few readable groups, not dots
    data: {labels: [], datasets: kinds.map((k) => ({label: k, data: [], borderColor: colors[k],
      backgroundColor: colors[k], maxBarThickness: 28}))},
    options: {animation: false, maintainAspectRatio: false, interaction: {mode: "index", intersect: false},
      scales: {y: {beginAtZero: true, ticks: {precision: 0}}}},
  });
  const label = (iso) => {
    const d = new Date(iso);
    return d.toLocaleString([], {month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false});
  };
  function draw(stats) {
    const c = stats.funnel.counts;
    funnel.data.datasets[0].data = [c.sent, c.delivered, c.read, c.replied];
    funnel.update();
    timeline.data.labels = stats.timeline.map((p) => label(p.minute));
    kinds.forEach((k, i) => { timeline.data.datasets[i].data = stats.timeline.map((p) => p[k]); });
    timeline.update();
    box.dataset.drawn = String(c.sent);  // for the browser tests: what the charts show
  }
  function status() {
    const section = document.getElementById("live");
    return section ? section.dataset.status : "";
  }
  async function tick() {
    try {
      const response = await fetch(box.dataset.url, {headers: {Accept: "application/json"}});
      if (response.ok) draw(await response.json());
    } catch (e) { /* the next tick retries */ }
    if (live.has(status())) setTimeout(tick, 3000);
  }
  tick();
})();
