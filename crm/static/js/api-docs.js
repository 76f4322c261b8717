// Starts Swagger UI on the API docs page; the spec address comes from the page
// (a file, not an inline script, so the Content-Security-Policy stays strict).
(function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: false,
  });
})();
