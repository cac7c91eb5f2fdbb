/* global window, SwaggerUIBundle, SwaggerUIStandalonePreset */
// Swagger UI initializer for the gateway: the merged contract of every service, served by the gateway
// itself (a file rather than an inline script, so the page works under a strict CSP).
window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: '/api/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    persistAuthorization: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: 'StandaloneLayout',
    validatorUrl: null,
  });
});
