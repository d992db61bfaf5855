// Posts the guestbook form as JSON to /api/messages and reloads the list on success.
(() => {
  const form = document.getElementById("guestbook-form");
  if (!form) return;
  // The page renders a status line for this; make one if it does not.
  let status = document.getElementById("guestbook-status");
  if (!status) {
    status = document.createElement("p");
    status.setAttribute("role", "status");
    form.append(status);
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { author: form.elements.author.value, text: form.elements.text.value };
    status.textContent = "Posting…";
    status.className = "";
    try {
      const response = await fetch(form.action, {
        method: "POST",
        headers: { "Content-Type": "application/json", "Accept": "application/json" },
        body: JSON.stringify(body),
      });
      if (response.status === 201) {
        location.reload();
        return;
      }
      const problem = await response.json().catch(() => ({}));
      const errors = problem.errors ? Object.values(problem.errors).flat().join(" ") : "";
      status.textContent = errors || problem.title || `The server answered ${response.status}.`;
    } catch {
      status.textContent = "The site could not be reached.";
    }
    status.className = "error";
  });
})();
