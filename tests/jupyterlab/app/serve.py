"""Serves memwall's JupyterLab test fixture with Debian's jupyter_server and
jupyterlab_server: the application built by build.mjs at /lab, and
jupyter_server's own REST and websocket APIs (contents, sessions, kernels,
kernelspecs) for it to talk to.

    /usr/bin/python3 serve.py BUILD_DIR [jupyter_server options]

for example --ServerApp.token=T --ServerApp.port=P --ServerApp.root_dir=D.
The settings, workspaces and page configuration live in a fresh directory
under BUILD_DIR's parent chosen by the caller (JUPYTER_CONFIG_DIR); nothing is
read from the user's Jupyter configuration (JUPYTER_NO_CONFIG).
"""

import json
import os
import sys

os.environ["JUPYTER_NO_CONFIG"] = "1"

from jupyterlab_server import LabServerApp  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.abspath(sys.argv.pop(1))
STATE = os.environ.get("MEMWALL_LAB_STATE") or os.path.join(BUILD, "state")


def _jupyter_server_extension_points():
    return [{"module": __name__, "app": FixtureApp}]


class FixtureApp(LabServerApp):
    # jupyter_server finds an extension by its module's name.
    name = __name__
    extension_url = "/lab"
    default_url = "/lab"
    load_other_extensions = False
    app_name = "memwall JupyterLab fixture"
    app_version = "4"
    static_dir = os.path.join(BUILD, "static")
    templates_dir = os.path.join(HERE, "templates")
    schemas_dir = os.path.join(BUILD, "schemas")
    themes_dir = os.path.join(BUILD, "themes")
    app_settings_dir = os.path.join(STATE, "app_settings")
    user_settings_dir = os.path.join(STATE, "user_settings")
    workspaces_dir = os.path.join(STATE, "workspaces")

    def initialize_settings(self):
        super().initialize_settings()
        self.serverapp.web_app.settings["terminals_available"] = False


# What a fresh JupyterLab asks a new user, answered so that no dialog covers
# the notebook: no news fetched from the internet.
OVERRIDES = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false"}}


if __name__ == "__main__":
    os.makedirs(FixtureApp.app_settings_dir, exist_ok=True)
    with open(os.path.join(FixtureApp.app_settings_dir, "overrides.json"), "w") as f:
        json.dump(OVERRIDES, f)
    FixtureApp.launch_instance()
