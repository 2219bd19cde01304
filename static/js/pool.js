// The new-campaign page's "Also send from": only the numbers that can send with the chosen
// template's (its workspace's, on its WhatsApp Business Account: data-pool), the template's
// own left out, and the whole choice hidden when there are none. A hidden box is disabled
// too, so a number ticked for another template is not posted. Without this script every
// number is listed; the service refuses one on another WABA, beside the field.
(function () {
  "use strict";
  const select = document.getElementById("id_template");
  const box = document.getElementById("numbers-choice");
  if (!select || !box) return;
  const own = box.querySelector("[data-own-number]");
  const show = () => {
    const template = document.querySelector(
      '.template-preview[data-template="' + CSS.escape(select.value) + '"]');
    const pool = template ? template.dataset.pool : null;
    const account = template ? template.dataset.account : null;
    let offered = 0;
    box.querySelectorAll(".number-choice[data-pool]").forEach((option) => {
      const shown = option.dataset.pool === pool && option.dataset.account !== account;
      option.hidden = !shown;
      option.querySelector("input").disabled = !shown;
      if (shown) offered += 1;
    });
    box.hidden = offered === 0;
    if (own && template) own.textContent = ", " + template.dataset.number;
  };
  select.addEventListener("change", show);
  show();
})();
