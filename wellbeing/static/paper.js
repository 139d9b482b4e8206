/* The paper form's print button (a file, not inline script: the CSP forbids that). */
(function () {
  "use strict";
  var printButton = document.getElementById("print-now");
  if (printButton) {
    printButton.addEventListener("click", function () { window.print(); });
  }
})();
