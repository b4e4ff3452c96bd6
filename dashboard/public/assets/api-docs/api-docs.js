// Starts Swagger UI on /api/docs: a file, not an inline script, so that the page's CSP allows no inline script.
(function () {
  'use strict';
  var root = document.getElementById('swagger-ui');
  window.ui = SwaggerUIBundle({
    url: root.getAttribute('data-spec'),
    domNode: root,
    deepLinking: true,
    filter: true,
    displayRequestDuration: true,
    // The key stays in this tab's memory: an admin key is not left in localStorage.
    persistAuthorization: false,
    // The default would load a validity badge from another site.
    validatorUrl: null,
  });
})();
