"""The grading sandbox: each student's kernel runs in bubblewrap while it is autograded.

- :mod:`.policy`: what the kernel sees, as data (a pure function returning bwrap's arguments);
- :mod:`.limits`: what it may use (rlimits, a cgroup of its own) and death with the grader;
  :mod:`.watchdog`: the caps the grader enforces from outside (CPU of the group, its own memory);
- :mod:`.availability`: whether the sandbox can start here (:func:`check_bwrap`), and the explicit opt-out;
- :mod:`.manager`: the kernel manager autograde uses, its provisioner, and
  :func:`ready` (:func:`check_bwrap` plus the size-limited tmpfs the policy needs);
- :mod:`.exits`: deferred shutdown, and what killed graders left; :mod:`.kernel_files`: the files a
  kernel is given besides its notebook;
- :mod:`.client`: a faster kernel client (speed only, no part of the security);
- :mod:`.cleanup`: removing any tree a kernel could leave, without recursion.

``nbgrader_config.py`` (through :func:`backprop_course.grader.config.configure`) puts it
in place for ``make grade`` and a plain ``nbgrader autograde`` in the course root alike.
"""
from .limits import Budget, KernelCgroup, enforcement  # noqa: F401
from .exits import ExitingKernels  # noqa: F401
from .manager import SandboxedKernelManager, SandboxProvisioner, ready  # noqa: F401
from .client import PromptKernelClient  # noqa: F401
from .policy import Host, Policy, policy_for  # noqa: F401
from .availability import ENV_SWITCH, SandboxUnavailableError, disabled_by_environment, check_bwrap  # noqa: F401
