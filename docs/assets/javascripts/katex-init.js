// Typeset math with KaTeX served from this site (hooks/vendor.py adds this script to pages with math).
// Markdown pages: pymdownx.arithmatex (generic) wraps math in .arithmatex with \( \) and \[ \].
// Notebook pages: Markdown cells keep Jupyter's $ and $$ delimiters.
(function () {
  "use strict";
  var BRACKETS = [
    { left: "\\[", right: "\\]", display: true },
    { left: "\\(", right: "\\)", display: false },
  ];
  var NOTEBOOK = [{ left: "$$", right: "$$", display: true }, { left: "$", right: "$", display: false }]
    .concat(BRACKETS);

  function typeset() {
    document.querySelectorAll(".arithmatex").forEach(function (el) {
      renderMathInElement(el, { delimiters: BRACKETS, throwOnError: false });
    });
    document.querySelectorAll(".jupyter-wrapper .jp-RenderedMarkdown").forEach(function (el) {
      renderMathInElement(el, { delimiters: NOTEBOOK, throwOnError: false });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", typeset, { once: true });
  } else {
    typeset();
  }
})();
