// Two accessible-name gaps of the PyData theme, found by axe-core (docs/check_site.py):
// - the search button's aria-label "Search" hides its visible text "Search Ctrl+K"
//   (label-content-name-mismatch): its name comes from what it shows instead;
// - the navigation's expand/collapse toggles are <summary> elements with only an icon
//   (summary-name): each gets the name of the section it opens.
function seNameThings() {
  document.querySelectorAll(".search-button-field[aria-label]").forEach((b) => b.removeAttribute("aria-label"));
  document.querySelectorAll("details > summary").forEach((s) => {
    if (s.textContent.trim() || s.hasAttribute("aria-label")) return;
    const link = s.parentElement.parentElement.querySelector(":scope > a");
    s.setAttribute("aria-label", "sub-pages of " + (link ? link.textContent.trim() : "this section"));
  });
}
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", seNameThings);
else seNameThings();
