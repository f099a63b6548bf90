// The header button to the other edition (added by book/_ext/reflosses_site.py) is a link to the
// twin page. The theme opens header links in a new tab; switching language stays in this tab and
// keeps the reader's place: the section being read has the same id in both editions.
function currentSection() {
  if (location.hash) return location.hash.slice(1);
  let id = "";
  for (const section of document.querySelectorAll("article.bd-article section[id]")) {
    if (section.getBoundingClientRect().top > 80) break;  // below the header: not reached yet
    id = section.id;
  }
  return id;
}

document.addEventListener("DOMContentLoaded", () => {
  for (const a of document.querySelectorAll("a.btn-language-switch")) {
    a.removeAttribute("target");
    a.setAttribute("hreflang", document.documentElement.lang.startsWith("zh") ? "en" : "zh-CN");
    a.addEventListener("click", () => {
      const id = currentSection();
      a.href = a.href.split("#")[0] + (id ? "#" + id : "");
    });
  }
});
