// Ask for confirmation before a workflow action is recorded (it cannot be undone).
document.addEventListener("submit", function (event) {
  var form = event.target;
  var message = form.getAttribute("data-confirm");
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});

// A list's "with selected" menu (templates/admin/actions.html): its items carry data-action
// rather than Flask-Admin's inline onclick, which the Content-Security-Policy blocks. Run
// Flask-Admin's action for them: it asks for confirmation where the action has one and posts
// the selected rows.
document.addEventListener("click", function (event) {
  var item = event.target.closest("a.dropdown-item[data-action]");
  if (!item || typeof modelActions === "undefined") {
    return;
  }
  event.preventDefault();
  modelActions.execute(item.getAttribute("data-action"));
});
