"""Grading on a Dask cluster, with real ``dask scheduler`` and ``dask worker`` processes on 127.0.0.1.

The scheduler writes a scheduler file (random ports); each worker runs in its own working
directory and in a mount namespace of its own in which the folder holding every course of
these tests is an empty tmpfs: a worker cannot read a course, only what the client sends it.
The client is the command line (``backprop-course grade --cluster SCHEDULER_FILE``) in a
subprocess, as an instructor runs it; the tests watch and kill processes from outside.

One scheduler and two workers serve the whole module, and every course is a copy of one
released template with the same config, so a worker process unpacks the course and passes its
preflight once (a worker killed by a test is a new process, which passes it again).

- a small class (per assignment a correct solution, a mistake and the blank release) gets the
  same grades as sequential stock ``nbgrader autograde``, and the same autograded notebooks
  apart from timestamps;
- a worker SIGKILLed mid-batch: every submission graded once, the gradebook as undisturbed;
- a submission whose every worker dies: reported as not graded, the rest graded;
- the client SIGKILLed and run again: it goes on where it stopped, same gradebook; then one
  student's submission regraded on the cluster, nobody else's rows or files touched;
- a worker with another version of the checks refuses, and the client says so; a scheduler
  that cannot be reached stops the run before anything is graded;
- into PostgreSQL.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from backprop_course.grader import pipeline
from backprop_course.tools.bench.compare import compare_notebooks
from answers.catalogue import CATALOGUE, NOTEBOOK, build_notebook
from backprop_course.tools.local_cluster import LocalCluster
from nbgrader_runner import nbgrader
from grading_helpers import course_copy

from project import ROOT

A1, A2, A3 = "01_neuron", "02_backprop", "03_vectorised"
BY_NAME = {s.name: s for s in CATALOGUE}
#: the class graded through the cluster, (student, assignment): per assignment a correct
#: solution in another style than the reference, a classic mistake, and the blank release
CLASS = [("01-correct-ufuncs", A1), ("01-forward-no-bias", A1), ("blank", A1),
         ("02-correct-loops", A2), ("02-neuron-hidden-no-phi-prime", A2), ("blank", A2),
         ("03-correct-einsum", A3), ("03-dense-dW-transposed", A3), ("blank", A3)]
SMALL = [sub for sub in CLASS if sub[1] == A2]  # the batch the faults are tried on: one assignment, one preflight


def notebook_of(student, assignment):
    """The notebook ``student`` of CLASS hands in for ``assignment``."""
    if student == "blank":
        return nbformat.read(ROOT / "release" / assignment / NOTEBOOK[assignment], as_version=4)
    return build_notebook(BY_NAME[student], hidden_tests=False)


def course_with(template, folder, submissions, config=""):
    """A copy of the released course ``template`` in ``folder``, whose class hands in
    ``submissions`` ((student, assignment) of CLASS)."""
    shutil.copytree(template, folder)
    if config:
        with open(folder / "nbgrader_config.py", "a") as f:
            f.write(config)
    for student, assignment in submissions:
        path = folder / "submitted" / student / assignment / NOTEBOOK[assignment]
        path.parent.mkdir(parents=True)
        nbformat.write(notebook_of(student, assignment), path)
    return folder


def grade_command(course, cluster, *extra):
    return [sys.executable, "-m", "backprop_course.grader.cli", "--root", str(course), "grade",
            "--only", "autograde", "--cluster", str(cluster), *extra]


def gradebook(db_url):
    """{(student, assignment, notebook): everything autograde wrote for it} of a gradebook."""
    from nbgrader.api import Gradebook

    rows = {}
    with Gradebook(db_url) as gb:
        for assignment in gb.assignments:
            for sub in gb.assignment_submissions(assignment.name):
                for nb in sub.notebooks:
                    rows[sub.student_id, assignment.name, nb.name] = (
                        str(sub.timestamp), nb.flagged, nb.late_submission_penalty,
                        sorted((g.name, g.auto_score, g.manual_score, g.extra_credit, g.needs_manual_grade, g.max_score)
                               for g in nb.grades),
                        sorted((c.name, c.auto_comment, c.manual_comment) for c in nb.comments))
    return rows


def sqlite(course):
    return f"sqlite:///{course / 'gradebook.db'}"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def executing(client):
    """{worker address: [keys of the tasks it is running]}."""
    return client.run(lambda dask_worker: [str(ts.key) for ts in dask_worker.state.executing])


def kill_worker(client, address):
    """SIGKILL the worker process (its nanny starts a new one)."""
    pid = client.run(os.getpid, workers=[address])[address]
    os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def env(nbgrader_env):
    return {**nbgrader_env, "PYTHONHASHSEED": "0"}


@pytest.fixture(scope="module")
def courses(tmp_path_factory):
    """The folder that holds every course of this module: hidden from the workers."""
    return tmp_path_factory.mktemp("courses")


@pytest.fixture(scope="module")
def template(courses):
    """The course, released once (its gradebook holds the assignments): copied for each test."""
    folder = course_copy(courses / "template")
    pipeline.Course(root=folder).release()
    return folder


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, courses, env):
    # a task is tried on 2 workers at most, so that the test of a submission that kills
    # every worker grading it needs two kills, and a single kill is retried
    cluster = LocalCluster(tmp_path_factory.mktemp("cluster"), env, hidden=courses,
                           scheduler_env={"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1"})
    try:
        for name in ("worker-1", "worker-2"):
            cluster.add_worker(name)
        cluster.wait_for_workers(2)
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def undisturbed(cluster, courses, template, env):
    """CLASS graded through the cluster, nobody disturbing it."""
    course = course_with(template, courses / "undisturbed", CLASS)
    run = subprocess.run(grade_command(course, cluster.file), env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return course, run.stdout, gradebook(sqlite(course))


def test_the_clusters_processes_run_with_the_courses_dask_settings(cluster, env):
    """grader/dask-worker.yaml, which `backprop-course dask-config` names and LocalCluster
    (like the README's recipes) passes as DASK_CONFIG: no profiler, a tick a second."""
    import dask
    import yaml

    shown = subprocess.run([sys.executable, "-m", "backprop_course.grader.cli", "dask-config"], env=env,
                           capture_output=True, text=True, check=True).stdout.strip()
    settings = yaml.safe_load(Path(shown).read_text())["distributed"]
    assert settings["worker"]["profile"]["enabled"] is False and settings["admin"]["tick"]["interval"] == "1s"

    def seen():
        return (dask.config.get("distributed.worker.profile.enabled"), dask.config.get("distributed.admin.tick.interval"),
                dask.config.get("distributed.worker.memory.monitor-interval"))

    with cluster.client() as client:
        assert set(client.run(seen).values()) == {(False, "1s", "1s")}
        assert client.run_on_scheduler(seen) == (False, "1s", "1s")


def test_the_workers_cannot_see_the_courses(cluster, courses, undisturbed):
    assert any(courses.iterdir())
    with cluster.client() as client:
        seen = client.run(lambda: (os.getcwd(), dict(os.environ), os.listdir(str(courses))))
    assert len(seen) == 2
    for cwd, environ, listing in seen.values():
        assert listing == [], "a worker sees the courses"
        assert str(courses) not in cwd and not any(str(courses) in value for value in environ.values())
        assert Path(cwd).parent == cluster.base


def graded_total(output):
    per_worker = re.search(r"^    per worker: (.*)$", output, re.M).group(1)
    return sum(int(n) for n in re.findall(r" (\d+)(?:,|$)", per_worker))


def test_the_cluster_grades_as_stock_nbgrader(undisturbed, courses, template, env):
    course, output, rows = undisturbed
    stock = course_with(template, courses / "stock", CLASS)
    for assignment in (A1, A2, A3):  # stock: without the course's preflight, which grades nothing
        nbgrader("autograde", assignment, "--force", "--Autograde.pre_convert_hook=None", cwd=stock, env=env)
    assert set(rows) == {(s, a, Path(NOTEBOOK[a]).stem) for s, a in CLASS}
    assert rows == gradebook(sqlite(stock))
    assert compare_notebooks(stock, course) == []
    # and the grades are right, not just alike: a correct solution full, the blank nothing, a mistake less
    scores = {key: sum(g[1] for g in row[3]) for key, row in rows.items()}
    tops = {key: sum(g[5] for g in row[3]) for key, row in rows.items()}
    for key in scores:
        if "-correct-" in key[0]:
            assert scores[key] == tops[key] > 0, key
        elif key[0] == "blank":
            assert scores[key] == 0, key
        else:
            assert 0 < scores[key] < tops[key], key
    assert graded_total(output) == len(CLASS), output[-3000:]
    # each worker process passed the preflight of each assignment, once, before its first task
    assert "preflight" not in output, "the client, which grades nothing, ran a preflight"


def only(rows, submissions):
    return {key: row for key, row in rows.items() if key[:2] in submissions}


def test_a_worker_killed_mid_batch(cluster, courses, template, env, undisturbed):
    course = course_with(template, courses / "killed-worker", SMALL)
    process = subprocess.Popen(grade_command(course, cluster.file), env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    killed = None
    with cluster.client() as client:
        deadline = time.time() + 300
        while killed is None and time.time() < deadline and process.poll() is None:
            busy = {w: keys for w, keys in executing(client).items() if any(k.startswith("grade-") for k in keys)}
            if busy and any((course / "autograded").glob("*/*")):  # one done, another under way
                killed = sorted(busy)[0]
                kill_worker(client, killed)
            time.sleep(0.2)
    out, err = process.communicate(timeout=600)
    assert killed, "no worker was grading"
    assert process.returncode == 0, out[-3000:] + err[-3000:]
    assert "not graded" not in out
    assert gradebook(sqlite(course)) == only(undisturbed[2], SMALL)
    journal = (course / ".autograde-journal.jsonl").read_text().splitlines()
    assert len(journal) == len(SMALL), "a submission was merged twice, or not at all"
    assert graded_total(out) == len(SMALL), out[-3000:]


def test_a_submission_whose_every_worker_dies_is_not_graded_and_the_rest_is(cluster, courses, template, env,
                                                                           undisturbed):
    # two submissions, one per worker: a worker is killed only when it runs the poison, and
    # then holds nothing else that Dask would count as a suspect too
    batch = SMALL[:2]
    poison = batch[0]
    course = course_with(template, courses / "poison", batch)
    process = subprocess.Popen(grade_command(course, cluster.file), env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    killed = []
    with cluster.client() as client:
        deadline = time.time() + 400
        while len(killed) < 2 and time.time() < deadline and process.poll() is None:
            for worker, keys in executing(client).items():
                if worker not in killed and any(k.startswith(f"grade-{poison[0]}/") for k in keys):
                    kill_worker(client, worker)
                    killed.append(worker)
            time.sleep(0.2)
    out, err = process.communicate(timeout=600)
    assert len(killed) == 2, killed
    assert process.returncode == 0, out[-3000:] + err[-3000:]
    assert re.search(rf"not graded: {poison[0]}/{poison[1]}: every worker that graded it died \(2 tries", out), out[-3000:]
    assert out.count("not graded:") == 1
    rest = [s for s in batch if s != poison]
    assert gradebook(sqlite(course)) == only(undisturbed[2], rest)


def test_a_client_killed_and_run_again_goes_on_where_it_stopped_and_a_regrade(cluster, courses, template, env,
                                                                              undisturbed):
    course = course_with(template, courses / "killed-client", SMALL)
    journal = course / ".autograde-journal.jsonl"
    with open(course / "first-run.log", "w") as log:
        process = subprocess.Popen(grade_command(course, cluster.file), env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and process.poll() is None and not (journal.exists() and journal.read_text().strip()):
        time.sleep(0.05)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, \
        f"the run ended (exit {process.returncode}) before it could be killed:\n{(course / 'first-run.log').read_text()[-3000:]}"
    done = len(journal.read_text().splitlines())
    assert 1 <= done < len(SMALL)
    again = subprocess.run(grade_command(course, cluster.file), env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    kept = int(re.search(r"kept from an earlier run with the same inputs: (\d+)", again.stdout).group(1))
    assert kept >= done
    assert re.search(rf"graded: {len(SMALL) - kept} by", again.stdout)
    assert gradebook(sqlite(course)) == only(undisturbed[2], SMALL)

    # then a regrade of one submission (`make grade STUDENT=… ASSIGNMENT=… CLUSTER=…`): graded
    # again on the cluster though the journal has it; everyone else's rows and files untouched
    before = {p: p.read_bytes() for p in (course / "autograded").rglob("*") if p.is_file()}
    student, assignment = SMALL[1]
    again = subprocess.run(grade_command(course, cluster.file, "--student", student, "--assignment", assignment),
                           env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert f"Regrading {student}/{assignment} only" in again.stdout
    assert re.search(r"graded: 1 by the Dask cluster", again.stdout), again.stdout[-3000:]
    assert gradebook(sqlite(course)) == only(undisturbed[2], SMALL)
    after = {p: p.read_bytes() for p in (course / "autograded").rglob("*") if p.is_file()}
    mine = course / "autograded" / student / assignment
    assert {p: b for p, b in after.items() if mine not in p.parents} == \
        {p: b for p, b in before.items() if mine not in p.parents}
    assert any(mine in p.parents for p in after)


def test_cluster_grading_into_postgresql(cluster, courses, template, env, undisturbed, postgres_url):
    course = course_with(template, courses / "postgresql", SMALL)
    (course / "gradebook.db").unlink()
    with_db = {**env, "NBGRADER_DB_URL": postgres_url}
    run = subprocess.run(grade_command(course, cluster.file, "--only", "release"), env=with_db,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert not (course / "gradebook.db").exists()
    assert gradebook(postgres_url) == only(undisturbed[2], SMALL)


def test_a_worker_with_other_checks_refuses_and_the_client_says_so(tmp_path, template, env):
    other = tmp_path / "other-version"
    shutil.copytree(ROOT / "backprop_course", other / "backprop_course", ignore=shutil.ignore_patterns("__pycache__"))
    with open(other / "backprop_course" / "checks" / "core.py", "a") as f:
        f.write("\n# another version of the checks\n")
    courses = tmp_path / "courses"
    course = course_with(template, courses / "course", SMALL[:2])
    cluster = LocalCluster(tmp_path / "cluster", env, hidden=courses)
    try:
        cluster.add_worker("stale-worker", env={**env, "PYTHONPATH": str(other)})
        run = subprocess.run(grade_command(course, cluster.file), env=env, capture_output=True, text=True, timeout=600)
    finally:
        cluster.stop()
    assert run.returncode != 0
    assert "refuse" in run.stderr and "fingerprint" in run.stderr and "Nothing was graded" in run.stderr, run.stderr[-3000:]
    assert gradebook(sqlite(course)) == {}
    assert not (course / "autograded").exists() or not any((course / "autograded").iterdir())


def test_an_unreachable_scheduler_stops_the_run_before_anything_is_graded(tmp_path, template, env, monkeypatch):
    from backprop_course.grader import cli

    course = course_with(template, tmp_path / "course", SMALL[:2], config="\nc.DaskGrading.connect_timeout = 3\n")
    monkeypatch.delenv("NBGRADER_DB_URL", raising=False)
    for address in (f"tcp://127.0.0.1:{free_port()}", str(tmp_path / "no-such-scheduler.json")):
        with pytest.raises(SystemExit) as stopped:  # the command line, in this process: no new interpreter
            cli.main(grade_command(course, address)[3:])
        assert "Nothing was graded" in str(stopped.value) and address in str(stopped.value), stopped.value
        assert gradebook(sqlite(course)) == {}
        assert not (course / "autograded").exists()


def test_a_worker_is_sent_only_what_the_intake_admits(tmp_path):
    """What travels to a worker is what intake.inspect admits, as for local grading: a link and
    a FIFO are left out (the intake's notes say so), a notebook that is a link is not sent at all."""
    from backprop_course.grader.intake import folder as intake
    from backprop_course.grader.run.bundle import RefusedFiles, read_submission

    folder = tmp_path / "submitted" / "ada" / A2
    folder.mkdir(parents=True)
    notebook = (ROOT / "release" / A2 / NOTEBOOK[A2]).read_bytes()
    (folder / NOTEBOOK[A2]).write_bytes(notebook)
    (folder / "notes.txt").write_text("my notes")
    os.symlink(ROOT / "source" / A2 / NOTEBOOK[A2], folder / "solution.ipynb.txt")
    os.mkfifo(folder / "pipe")
    files = read_submission(folder, [NOTEBOOK[A2]], intake.LIMITS)
    assert {path: data for path, (_, data) in files.items()} == {NOTEBOOK[A2]: notebook, "notes.txt": b"my notes"}
    (folder / NOTEBOOK[A2]).unlink()
    os.symlink(ROOT / "source" / A2 / NOTEBOOK[A2], folder / NOTEBOOK[A2])
    with pytest.raises(RefusedFiles, match="link"):
        read_submission(folder, [NOTEBOOK[A2]], intake.LIMITS)


def test_the_bundles_gradebook_holds_the_assignments_and_the_class_gradebooks_schema_version(tmp_path, monkeypatch):
    """The workers' gradebook: the class gradebook's assignments, no student, stamped with the
    class gradebook's alembic version without asking `alembic heads` (a new process, seconds);
    a gradebook with no version to copy is stamped by nbgrader, as it always is."""
    import nbgrader.api
    import sqlalchemy
    from nbgrader.api import Base

    from backprop_course.grader.run.bundle import assignments_gradebook

    def made(path, version):
        engine = sqlalchemy.create_engine(f"sqlite:///{path}")
        with engine.begin() as db:
            Base.metadata.create_all(db)
            if version:
                db.execute(sqlalchemy.text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
                db.execute(sqlalchemy.text(f"INSERT INTO alembic_version VALUES ('{version}')"))
            db.execute(sqlalchemy.text("INSERT INTO course (id) VALUES ('backprop')"))
            db.execute(sqlalchemy.text("INSERT INTO assignment (id, name, course_id) VALUES ('a1', '02_backprop', 'backprop')"))
            db.execute(sqlalchemy.text("INSERT INTO student (id) VALUES ('ada')"))
        engine.dispose()
        return f"sqlite:///{path}"

    def read(data, path):
        path.write_bytes(data)
        engine = sqlalchemy.create_engine(f"sqlite:///{path}")
        with engine.connect() as db:
            found = [db.execute(sqlalchemy.text(query)).scalars().all() for query in (
                "SELECT version_num FROM alembic_version", "SELECT name FROM assignment", "SELECT id FROM student")]
        engine.dispose()
        return found

    def no_alembic():
        raise AssertionError("asked alembic for its head")

    monkeypatch.setattr(nbgrader.api, "get_alembic_version", no_alembic)
    data = assignments_gradebook(made(tmp_path / "class.db", "c0ffee"), tmp_path / "bundle.db", "backprop")
    assert read(data, tmp_path / "read.db") == [["c0ffee"], ["02_backprop"], []]

    monkeypatch.setattr(nbgrader.api, "get_alembic_version", lambda: "head")
    data = assignments_gradebook(made(tmp_path / "old.db", None), tmp_path / "bundle2.db", "backprop")
    assert read(data, tmp_path / "read2.db") == [["head"], ["02_backprop"], []]
