// Loaded on search.html only. Sphinx shows, under each result, text around the match taken from
// the page's [role=main] element; in this theme that element begins with the page's table of
// contents, so a chapter's snippet was its list of sections. Take the article's own text instead,
// so the snippet is the sentence that matched (a formula reads as its MathML's text). (Sphinx's
// searchtools.js is loaded after this file and searches once the page has loaded.)
document.addEventListener("DOMContentLoaded", () => {
  Search.htmlToText = (htmlString, anchor) => {
    const doc = new DOMParser().parseFromString(htmlString, "text/html");
    const article = doc.querySelector("article.bd-article") || doc.querySelector('[role="main"]');
    if (!article) return "";
    for (const el of article.querySelectorAll(".headerlink, script, style")) el.remove();
    const part = (anchor && article.querySelector(anchor)) || article;
    return part.textContent.replace(/\s+/g, " ");
  };
});
