// A page that comes back with form errors starts where the problem is: the first field in
// error (Django marks it aria-invalid and points it at its message) takes the focus, unless
// something else already has it.
document.addEventListener("DOMContentLoaded", () => {
  if (document.activeElement && document.activeElement !== document.body) return;
  const invalid = document.querySelector('[aria-invalid="true"]');
  if (invalid) invalid.focus();
});
