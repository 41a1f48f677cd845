// memwall's JupyterLab test fixture: a JupyterLab application made of the
// plugins package.json lists (the notebook, its rendermime with the
// sanitizer, CodeMirror, the light theme and the Jupyter widgets manager).
// The Go test (tests/jupyterlab) drives it through window.jupyterapp and
// waits for document.body's data-memwall-ready attribute.
import { JupyterLab } from '@jupyterlab/application';
import { extensions, mimeExtensions } from 'memwall:plugins';

window.addEventListener('load', async () => {
  try {
    const lab = new JupyterLab({ mimeExtensions });
    lab.registerPluginModules(extensions);
    window.jupyterapp = lab;
    await lab.start();
    await lab.restored;
    document.body.dataset.memwallReady = 'true';
  } catch (err) {
    console.error('memwall fixture: JupyterLab did not start', err);
    document.body.dataset.memwallReady = 'error: ' + err;
  }
});
