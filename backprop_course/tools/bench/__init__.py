"""`make bench`: how fast the course autogrades a class, against stock nbgrader and bare nbclient.

For each class size it builds a synthetic class of 02_backprop submissions (correct, buggy
and slow-but-valid ones, from answers/catalogue.py), releases the course once, and times,
each in a fresh subprocess so that import costs count alike:

(a) stock nbgrader: ``nbgrader autograde 02_backprop --force`` in a copy, sequential;
(b) ours: ``backprop-course grade --only autograde --jobs N`` in another copy (``Course.autograde``);
(c) bare nbclient: the same notebooks, as nbgrader executes them (hidden tests restored, the
    demonstrations it skips left out), run one after another with ``nbclient`` and no grading at all;
(d) Dask: ``backprop-course grade --only autograde --cluster SCHEDULER_FILE`` in a third copy,
    on a local cluster started for it (``dask scheduler`` and N ``dask worker --nthreads 1``,
    not timed): the distributed path, its workers' preflight included.

With (d) it also reports the distributed path's figures per submission (bytes sent and
returned, the client's merge). Then, in modules of their own: the CPU one more submission of
each assignment costs, demonstration cells skipped and run (``cost.py``, ``--no-cost``);
and a simulation at scale, the real scheduler and client with hundreds of replaying workers,
with the projection of real workers' wall time from what it and a real recording measured
(``scale.py``, ``--scale WORKERSxTASKS``, ``--no-scale``). ``--soak N`` grades N
submissions once through (d) alone and reports the client's memory and what is left behind
(kernels, folders, cgroups: ``soak.py``).

A size given as SIZExROUNDS (``40x3``) is timed in that many rounds, each on fresh copies,
the order of the three runs turning from round to round; every figure is then the median
over the rounds, since a shared machine has slow spells of a minute or more.

It prints a table and two ratios, (a)/(b), the speed-up over stock nbgrader, and
(b)/((c)/cores), the overhead over perfectly parallel bare execution; then checks that (a)
and (b) gave identical grades (per student and grade cell, read with nbgrader.api.Gradebook)
and identical autograded notebooks apart from what legitimately differs between two runs
(execution timestamps, object addresses, how a print was split into stream messages).
It exits 1 if anything differs, 2 if a run failed. Besides wall time it reports each run's
CPU time, kernels included (a cpuacct cgroup of its own, ``cpu_meter.py``; getrusage where
there is none, which misses the sandboxed kernels), which the other load of a shared machine
inflates far less than wall time.

    python -m backprop_course.tools.bench [--sizes 10x3,40x3,160] [--jobs N] [--keep DIR] [--no-dask] [--no-cost] [--no-scale]
    python -m backprop_course.tools.bench --soak 1000

The package, one job a module:

- ``synthetic_class.py``: the class of 02_backprop submissions (correct, buggy, slow-but-valid);
- ``runs.py``: running (a), (b), (c) and (d) in subprocesses, with their wall and CPU time;
- ``compare.py``: (a)'s gradebook and autograded notebooks against (b)'s and (d)'s;
- ``rounds.py``: one class size, timed in rounds; ``report.py``: the table and the targets;
- ``soak.py``, ``cost.py``, ``scale.py`` (with ``scale_recording.py``, ``scale_simulation.py``,
  ``scale_workers.py``, ``scale_projection.py``): the jobs above; ``review.py``: the review's part of `make bench`;
- ``processes.py``, ``cpu_meter.py``: what the runs read of their processes;
- ``cli.py`` (``python -m backprop_course.tools.bench``): the command line.
"""
