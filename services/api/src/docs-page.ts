/**
 * `GET /docs`: the OpenAPI document rendered for people by Swagger UI. The renderer's files come
 * from the `swagger-ui-dist` npm package and are served by this API under `/docs/assets`, so the
 * page works offline and behind a firewall (no CDN), and its version is pinned in the lockfile.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import express, { type Handler, type RequestHandler } from 'express';

/**
 * Paths are relative, so the page also works behind a path prefix; `BASE` is what leads from the
 * page's own URL back to the API's root: `/docs` is a file in `/`, `/docs/` a folder below it.
 */
const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>Tugboat API</title>
    <link rel="stylesheet" href="BASEdocs/assets/swagger-ui.css">
    <link rel="icon" type="image/png" href="BASEdocs/assets/favicon-32x32.png" sizes="32x32">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="BASEdocs/assets/swagger-ui-bundle.js"></script>
    <script>
      window.ui = SwaggerUIBundle({ url: 'BASEopenapi.json', dom_id: '#swagger-ui', deepLinking: true, persistAuthorization: false });
    </script>
  </body>
</html>
`;

export function swaggerUiDirectory(): string {
  return dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
}

export function docsPage(): Handler {
  const pages = { file: PAGE.replaceAll('BASE', ''), folder: PAGE.replaceAll('BASE', '../') };
  return (req, res) => {
    res.type('html').send(req.path.endsWith('/') ? pages.folder : pages.file);
  };
}

/** The renderer's static files (CSS, JS bundle, icons); a missing file falls through to the 404. */
export function docsAssets(): RequestHandler {
  return express.static(swaggerUiDirectory(), { index: false, immutable: true, maxAge: '1d' });
}
