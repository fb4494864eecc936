// The account menu (a <details> element): Escape closes it and gives the focus back to its
// button, as a menu does; a click outside it closes it too.
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  for (const menu of document.querySelectorAll("details[data-account-menu][open]")) {
    menu.open = false;
    menu.querySelector("summary").focus();
  }
});
document.addEventListener("click", (event) => {
  for (const menu of document.querySelectorAll("details[data-account-menu][open]")) {
    if (!menu.contains(event.target)) menu.open = false;
  }
});
