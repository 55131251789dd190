// The API docs page: Swagger UI (shipped by the fastapi-offline package, served locally) over /openapi.json.
"use strict";
window.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({ url: root.dataset.spec, domNode: root, deepLinking: true });
});
