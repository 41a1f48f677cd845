// Builds memwall's JupyterLab test fixture with esbuild into OUT (the first
// argument, default ./build), in the layout jupyterlab_server's LabServerApp
// serves:
//
//   OUT/static/bundle.js, bundle.css   the application (index.js and the
//                                      plugins package.json lists)
//   OUT/schemas/PKG/*.json             each plugin package's settings schemas,
//                                      with package.json.orig beside them
//   OUT/themes/PKG/index.css           each theme package's themePath, bundled
//
// The plugin list lives in package.json ("jupyterlab"); index.js gets it
// through the virtual module "memwall:plugins" generated here.
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';

const here = path.dirname(new URL(import.meta.url).pathname);
const pkg = JSON.parse(fs.readFileSync(path.join(here, 'package.json'), 'utf8'));
const out = path.resolve(process.argv[2] || path.join(here, 'build'));
const { extensions, mimeExtensions } = pkg.jupyterlab;
const pkgDir = name => path.join(here, 'node_modules', name);
const pkgJSON = name => JSON.parse(fs.readFileSync(path.join(pkgDir(name), 'package.json'), 'utf8'));

// The virtual module: every plugin package's style module first (as
// @jupyterlab/builder orders them), then the plugin modules themselves.
function pluginsModule() {
  const lines = [];
  for (const name of [...extensions, ...mimeExtensions]) {
    const p = pkgJSON(name);
    const style = p.styleModule || p.style;
    if (style) lines.push(`import '${name}/${style}';`);
  }
  const imp = (names, v) => names.map((n, i) => `import * as ${v}${i} from '${n}';`);
  lines.push(...imp(extensions, 'e'), ...imp(mimeExtensions, 'm'));
  // JupyterLab reads a plugin module's default export only when the module
  // says __esModule, as webpack's modules do; esbuild's namespaces do not.
  const mods = (names, v) => names.map((_, i) => `{ __esModule: true, default: ${v}${i}.default }`).join(', ');
  lines.push(`export const extensions = [${mods(extensions, 'e')}];`);
  lines.push(`export const mimeExtensions = [${mods(mimeExtensions, 'm')}];`);
  return lines.join('\n');
}

// SVG is a string in JavaScript (JupyterLab's icons) and a data URL in CSS.
const assets = {
  name: 'memwall-assets',
  setup(build) {
    build.onResolve({ filter: /^memwall:plugins$/ }, () => ({ path: 'plugins', namespace: 'memwall' }));
    build.onLoad({ filter: /.*/, namespace: 'memwall' }, () => ({
      contents: pluginsModule(),
      resolveDir: here,
      loader: 'js'
    }));
    // webpack's '~' prefix for a package in CSS imports.
    build.onResolve({ filter: /^~/ }, args =>
      build.resolve(args.path.slice(1), { kind: args.kind, resolveDir: args.resolveDir }));
    // The widget manager loads @jupyter-widgets/controls with webpack's
    // require.ensure, which esbuild has no counterpart of: a dynamic import
    // does the same. Fail loudly if the package stops matching.
    build.onLoad({ filter: /@jupyter-widgets[\\/]jupyterlab-manager[\\/]lib[\\/]plugin\.js$/ }, args => {
      const src = fs.readFileSync(args.path, 'utf8');
      const call = "require.ensure(['@jupyter-widgets/controls'],";
      if (!src.includes(call)) throw new Error(`${args.path}: no ${call} to replace; update build.mjs`);
      const shim = "((deps, cb, fail) => import('@jupyter-widgets/controls').then(m => cb(() => m), fail))";
      return { contents: src.replace(call, shim + "(['@jupyter-widgets/controls'],"), loader: 'js' };
    });
    build.onResolve({ filter: /\.svg(\?.*)?$/ }, args => {
      if (args.kind !== 'url-token') return undefined;
      const p = args.path.replace(/\?.*$/, '');
      return { path: path.resolve(args.resolveDir, p), namespace: 'svg-url' };
    });
    build.onLoad({ filter: /.*/, namespace: 'svg-url' }, args => ({
      contents: fs.readFileSync(args.path),
      loader: 'dataurl'
    }));
  }
};

const loader = {
  '.svg': 'text', '.md': 'text', '.html': 'text', '.raw.css': 'text',
  '.png': 'dataurl', '.gif': 'dataurl', '.jpg': 'dataurl',
  '.woff': 'dataurl', '.woff2': 'dataurl', '.ttf': 'dataurl', '.eot': 'dataurl'
};

const started = Date.now();
fs.rmSync(out, { recursive: true, force: true });
await esbuild.build({
  entryPoints: { bundle: path.join(here, 'index.js') },
  outdir: path.join(out, 'static'),
  bundle: true,
  format: 'iife',
  minify: true,
  target: 'chrome110',
  loader,
  plugins: [assets],
  inject: [path.join(here, 'shims.js')],
  define: { 'process.env.NODE_ENV': '"production"', global: 'globalThis' },
  logLevel: 'warning'
});

for (const name of [...extensions, ...mimeExtensions]) {
  const p = pkgJSON(name);
  const lab = p.jupyterlab || {};
  if (lab.schemaDir) {
    const dst = path.join(out, 'schemas', name);
    fs.mkdirSync(dst, { recursive: true });
    const src = path.join(pkgDir(name), lab.schemaDir);
    for (const f of fs.readdirSync(src).filter(f => f.endsWith('.json'))) {
      fs.copyFileSync(path.join(src, f), path.join(dst, f));
    }
    fs.copyFileSync(path.join(pkgDir(name), 'package.json'), path.join(dst, 'package.json.orig'));
  }
  if (lab.themePath) {
    await esbuild.build({
      entryPoints: [path.join(pkgDir(name), lab.themePath)],
      outfile: path.join(out, 'themes', name, 'index.css'),
      bundle: true,
      minify: true,
      loader,
      plugins: [assets],
      logLevel: 'warning'
    });
  }
}
fs.writeFileSync(path.join(out, 'build-info.json'), JSON.stringify({
  seconds: (Date.now() - started) / 1000,
  extensions,
  mimeExtensions
}, null, 2) + '\n');
console.log(`jupyterlab fixture: built ${out} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
