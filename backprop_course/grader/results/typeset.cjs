// Typeset the TeX of an HTML fragment as SVG with MathJax, in node (grader/typeset.py runs it).
//
//   node typeset.cjs NODE_MODULES < fragment.html > typeset.html
//
// Reads the fragment on stdin and writes it back with each $…$, $$…$$, \(…\) and \[…\] replaced by
// an <mjx-container> holding an SVG and, for screen readers, its MathML; MathJax's stylesheet
// comes first. Text in <pre>, <code>, <textarea> and <script> is left alone, as in the browser.
// Nothing is loaded from the network: MathJax's components and font come from NODE_MODULES.
// The TeX is the student's: no \require, no \href, \class, \style, \cssId or \data (the html
// extension is never loaded), and MathJax's ui/safe filters whatever else reaches attributes.
'use strict';
const path = require('path');
const fragment = require('fs').readFileSync(0, 'utf8');

require(path.join(process.argv[2], 'mathjax')).init({
  loader: {load: ['input/tex', 'output/svg', 'adaptors/liteDOM', 'ui/safe', 'a11y/assistive-mml']},
  tex: {
    inlineMath: {'[+]': [['$', '$']]},  // as JupyterLab and nbconvert's pages
    processEscapes: true,               // \$ is a dollar sign
    packages: {'[-]': ['require']},
    autoload: {html: []},
  },
  svg: {fontCache: 'global'},
  startup: {document: '<!DOCTYPE html><html><head></head><body>' + fragment + '</body></html>'},
}).then((MathJax) => MathJax.startup.promise.then(() => {
  const adaptor = MathJax.startup.adaptor;
  const doc = MathJax.startup.document;
  const body = adaptor.body(doc.document);
  if (Array.from(doc.math).length === 0) {
    process.stdout.write(fragment);  // no math: the fragment as it came, not as the LiteDOM re-serialises it
    return;
  }
  process.stdout.write(adaptor.outerHTML(doc.outputJax.svgStyles) + adaptor.innerHTML(body));
})).catch((error) => {
  process.stderr.write(String(error && error.stack || error) + '\n');
  process.exit(1);
});
