// Node's process, as some of JupyterLab's dependencies expect it in a browser.
export const process = { cwd: () => '/', env: { NODE_ENV: 'production' }, platform: 'browser', argv: [] };
