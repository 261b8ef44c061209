// Typeset the math Sphinx wrote as \( … \) and \[ … \] with the local KaTeX (see se_offline.py).
document.addEventListener("DOMContentLoaded", function () {
  renderMathInElement(document.body, {
    delimiters: [
      {left: "\\[", right: "\\]", display: true},
      {left: "\\(", right: "\\)", display: false},
    ],
    ignoredClasses: ["highlight", "notranslate-code"],
    throwOnError: false,
  });
});
