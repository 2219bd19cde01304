// Copy buttons on the number's page: <button class="copy" data-copy="INPUT-ID">. Plain
// JavaScript; without it the inputs are still there to select and copy by hand.
(function () {
  "use strict";
  function copied(button) {
    var label = button.textContent;
    button.textContent = "Copied";
    setTimeout(function () { button.textContent = label; }, 1500);
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button.copy");
    if (!button) return;
    var input = document.getElementById(button.dataset.copy);
    if (!input) return;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(function () { copied(button); });
      return;
    }
    // Plain http (a local install): the old way, which needs the text selected.
    input.select();
    try { document.execCommand("copy"); copied(button); } catch (e) { /* left selected */ }
  });
})();
