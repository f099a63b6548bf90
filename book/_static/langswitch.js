// The header button to the other language (added by book/_ext/reflosses_site.py) is a link;
// the theme opens header links in a new tab, but switching language should stay in this tab.
document.addEventListener("DOMContentLoaded", () => {
  for (const a of document.querySelectorAll("a.btn-language-switch")) {
    a.removeAttribute("target");
    a.setAttribute("hreflang", document.documentElement.lang.startsWith("zh") ? "en" : "zh-CN");
  }
});
