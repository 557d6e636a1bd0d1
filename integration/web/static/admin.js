// Progressive enhancement only: every page works without this file.
// Forms with data-confirm ask before they post (deleting a job, removing a user).
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
