// Renders TeX to MathJax 3 CHTML at build time, for book/_ext/reflosses_site.py.
// Protocol: one JSON request per line on stdin, one JSON answer per line on stdout.
//   {"tex": "...", "display": true|false}  ->  {"html": "<mjx-container ...>"}  or  {"error": "..."}
//   {"css": true}                          ->  {"css": "..."}  (the stylesheet for every glyph used so far)
'use strict';
const readline = require('readline');
const {mathjax} = require('mathjax-full/js/mathjax.js');
const {TeX} = require('mathjax-full/js/input/tex.js');
const {CHTML} = require('mathjax-full/js/output/chtml.js');
const {liteAdaptor} = require('mathjax-full/js/adaptors/liteAdaptor.js');
const {RegisterHTMLHandler} = require('mathjax-full/js/handlers/html.js');
const {AllPackages} = require('mathjax-full/js/input/tex/AllPackages.js');
const {AssistiveMmlHandler} = require('mathjax-full/js/a11y/assistive-mml.js');

const adaptor = liteAdaptor();
AssistiveMmlHandler(RegisterHTMLHandler(adaptor));  // hidden MathML beside each formula, for screen readers
const tex = new TeX({
  packages: AllPackages.filter((p) => p !== 'bussproofs'),
  formatError: (jax, err) => { throw err; },   // a TeX mistake fails the build, never shows as red text
});
const chtml = new CHTML({fontURL: process.argv[2] || 'woff-v2', adaptiveCSS: true});
const doc = mathjax.document('', {InputJax: tex, OutputJax: chtml});

const rl = readline.createInterface({input: process.stdin, terminal: false});
rl.on('line', (line) => {
  const req = JSON.parse(line);
  let answer;
  try {
    if (req.css) {
      answer = {css: adaptor.textContent(chtml.styleSheet(doc))};
    } else {
      const node = doc.convert(req.tex, {display: !!req.display, em: 16, ex: 8, containerWidth: 1280});
      answer = {html: adaptor.outerHTML(node)};
    }
  } catch (err) {
    answer = {error: String(err && err.message || err)};
  }
  process.stdout.write(JSON.stringify(answer) + '\n');
});
