/* The column-mapping tables (campaigns/_audience_mapping.html): each row shows only the input
   its source kind reads (the contact field's select, or the attribute name or text box) and
   neither while the column is not mapped. Without this script both are shown; the kind decides
   which one is read. */
(function () {
  document.querySelectorAll("table.mapping tbody tr").forEach((row) => {
    const kind = row.querySelector(".map-kind");
    const field = row.querySelector(".map-field");
    const arg = row.querySelector(".map-arg");
    if (!kind || !field || !arg) return;
    const sync = () => {
      field.hidden = kind.value !== "field";
      arg.hidden = kind.value === "field" || kind.value === "";
      arg.placeholder = kind.value === "text" ? "the same text for everybody" : "attribute name, e.g. city";
    };
    kind.addEventListener("change", sync);
    sync();
  });
})();
