// Builds the page the Worker serves (wrangler.toml `[assets] directory = "www/dist"`): the
// segment builder (index.html), the event validator (validate.html) and the help docs rendered
// from docs/*.md into dist/docs/*.html.
import { defineConfig, type Plugin } from 'vite';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { marked } from 'marked';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');

// The npm package @tessera/engine from this repository (`scripts/build.sh npm` puts the wasm in
// it), its browser entry: the module loads and initializes the wasm itself.
const engine = resolve(root, 'packages/engine/browser.js');

/** Renders docs/*.md to docs/*.html with the builder's stylesheet, links rewritten. */
function helpDocs(): Plugin {
  return {
    name: 'tessera-help-docs',
    generateBundle() {
      const dir = join(root, 'docs');
      for (const file of readdirSync(dir).filter((f) => f.endsWith('.md')).sort()) {
        const markdown = readFileSync(join(dir, file), 'utf8');
        const title = /^#\s+(.+)$/m.exec(markdown)?.[1] ?? file;
        // Links between docs point at the rendered pages; links out of docs/ at the repository.
        const body = (marked.parse(markdown, { async: false }) as string)
          .replace(/href="([\w-]+)\.md(#[^"]*)?"/g, (_m, name, hash = '') => `href="${name}.html${hash}"`);
        const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Tessera docs</title><link rel="stylesheet" href="docs.css">
<script>document.documentElement.dataset.theme = localStorage.getItem('tessera.theme') || (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light');</script>
</head><body><nav><a href="../">← Segment builder</a> · <a href="index.html">All docs</a></nav><main>${body}</main></body></html>`;
        this.emitFile({ type: 'asset', fileName: `docs/${file.replace(/\.md$/, '.html')}`, source: html });
      }
      const index = readdirSync(dir).filter((f) => f.endsWith('.md')).sort()
        .map((f) => {
          const title = /^#\s+(.+)$/m.exec(readFileSync(join(dir, f), 'utf8'))?.[1] ?? f;
          return `<li><a href="${f.replace(/\.md$/, '.html')}">${title}</a> <code>docs/${f}</code></li>`;
        }).join('\n');
      this.emitFile({
        type: 'asset',
        fileName: 'docs/index.html',
        source: `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Tessera docs</title><link rel="stylesheet" href="docs.css">
<script>document.documentElement.dataset.theme = localStorage.getItem('tessera.theme') || (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light');</script>
</head><body><nav><a href="../">← Segment builder</a></nav><main><h1>Tessera docs</h1><ul>${index}</ul></main></body></html>`,
      });
      this.emitFile({ type: 'asset', fileName: 'docs/docs.css', source: readFileSync(join(here, 'src/docs.css'), 'utf8') });
    },
  };
}

export default defineConfig({
  root: here,
  base: './',
  resolve: { alias: { '@tessera/engine': engine } },
  worker: { format: 'es' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    reportCompressedSize: false,
    rollupOptions: {
      input: { index: join(here, 'index.html'), validate: join(here, 'validate.html') },
    },
  },
  server: { fs: { allow: [root] } },
  plugins: [helpDocs()],
});
