/* global window, SwaggerUIBundle */
// Swagger UI initializer for the gateway: the merged contract of every service, served by the gateway
// itself (a file rather than an inline script, so the page works under a strict CSP). BaseLayout: no
// "Explore" top bar, since this page documents one API and the CSP would refuse any other origin anyway.
window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: '/api/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    persistAuthorization: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
    validatorUrl: null,
  });
});
