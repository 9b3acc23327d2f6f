"""The course's JupyterHub (README, "A class on JupyterHub"): real Unix users, checked by PAM, each
running their own server as themselves; formgrader in the instructor's server; nbgrader's exchange
in a shared folder. ``make hub`` and ``tests/course/test_hub.py`` run it as

    BACKPROP_HUB=<hub folder> jupyterhub -f backprop_course/tools/hub_assets/jupyterhub_config.py

in ``<hub folder>/state``, whose ``hub.json`` (``backprop_course.tools.hub.settings.Hub``) says who is who
and where: for a hub of your own, put your values where this file reads them.
"""
import json
import os
from pathlib import Path

c = get_config()  # noqa: F821 (injected by traitlets)
hub = json.loads((Path(os.environ["BACKPROP_HUB"]) / "state" / "hub.json").read_text())
state, env = Path(hub["state"]), Path(hub["env"])

# Where it listens: the proxy on ip:port for users, the hub's API and the proxy's API on loopback.
c.JupyterHub.bind_url = f"http://{hub['ip']}:{hub['port']}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = hub["hub_port"]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{hub['proxy_api_port']}"
c.ConfigurableHTTPProxy.command = hub["proxy"]  # npm's configurable-http-proxy (make npm), run by node
c.ConfigurableHTTPProxy.pid_file = str(state / "jupyterhub-proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")

# Who: the machine's own accounts and passwords, checked by PAM (JupyterHub's default authenticator;
# it opens no PAM session, so it works in a container without systemd-logind too).
c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_users = {hub["instructor"], *hub["students"]}
# nbgrader's group names: formgrade-<course> for instructors, nbgrader-<course> for students
# (read by nbgrader's JupyterHubAuthPlugin where several courses share a hub; one course needs no more)
c.JupyterHub.load_groups = {name: {"users": users} for name, users in hub["groups"].items()}

# Their servers: one process each, started as that Unix user in their home (mode 700), from the
# hub's environment (root's, read-only to users: JupyterHub's web-security docs require that users
# cannot change their servers' environment). Only PATH and the locale pass from the hub.
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(env / "bin" / "jupyterhub-singleuser")]
c.Spawner.args = hub["server_args"]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.env_keep = ["LANG", "LC_ALL"]
c.Spawner.environment = {"PATH": f"{env / 'bin'}:/usr/local/bin:/usr/bin:/bin",
                         # MathJax for the math of the feedback and of formgrader (make npm's, shared)
                         "BACKPROP_SITE_CACHE": hub["npm"]}
# a server starts in seconds; on a busy machine it may take a minute
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
