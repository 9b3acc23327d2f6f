"""`backprop-course`: the command line behind the Makefile's targets."""
from __future__ import annotations

import argparse
import os
import sys
import time

from . import pipeline
from .intake.submissions import choose
from .results import review
from .results.export import IMPORT_ROSTER, NothingExported

STEPS = ("release", "autograde", "feedback", "export", "report")


def grade(args):
    """``backprop-course grade``: the steps of ``--only`` (default all: release, autograde, feedback, export,
    report) for the class, with a summary of what was graded."""
    from .results import report  # lazy: matplotlib, heavy, only for the commands that draw the report

    course = pipeline.Course(root=args.root, class_dir=args.class_dir)
    only = set(args.only or STEPS)
    jobs = args.jobs or pipeline.cores()
    started = time.perf_counter()
    demo = os.path.normpath(args.class_dir) == os.path.normpath(pipeline.DEMO_CLASS)
    print(f"Grading the {'demo class in ' + args.class_dir if demo else 'class in ' + str(course.class_path)}")
    submissions = course.submissions()
    # a regrade: these submissions only; everyone else's grades, feedback and files stay as they are
    regrade = args.student is not None or args.assignment is not None
    chosen = choose(submissions, args.student, args.assignment)
    if regrade:
        print(f"Regrading {', '.join(f'{s.student}/{s.assignment}' for s in chosen)} only")
    if "release" in only:
        print(f"1/5 release/ from source/: {', '.join(course.release())}")
        _say_kernel_only(course)
    if "autograde" in only:
        broken = sum(1 for s in chosen if s.problem)
        where = f"on the Dask cluster at {args.cluster}" if args.cluster else f"with {jobs} worker(s)"
        print(f"2/5 autograde {len(chosen) - broken} submissions {where}"
              + (f" ({broken} more cannot be graded, see below)" if broken else ""), flush=True)
        # a chosen regrade grades its submissions again even when the journal has them graded
        course.autograde(chosen, jobs=jobs, cluster=args.cluster, regrade=args.regrade or regrade)
        print(summary(course, chosen))
        for sub in chosen:
            if sub.problem:
                print(f"    not graded: {sub.student}/{sub.assignment}: {sub.problem}")
            for note in [] if sub.problem else sub.notes:
                print(f"    graded, with a note: {sub.student}/{sub.assignment}: {note}")
    feedback_failed = []
    if "feedback" in only:
        folder, feedback_failed = course.feedback(chosen, only_these=regrade)
        print(f"3/5 feedback: {folder}/<student>/<assignment>/*.html"
              + (f" (FAILED for {', '.join(feedback_failed)}: see the errors above)" if feedback_failed else ""))
    second_look = None
    if "export" in only or "report" in only:
        second_look = _review(course, submissions, args.past)
    if "export" in only:
        print(f"4/5 grades:   {course.export(review=second_look)[0]}")
    if "report" in only:
        results = report.collect(course.db_url, course.class_path, course.root / "source",
                                 {(s.student, s.assignment): s.problem for s in submissions if s.problem},
                                 {(s.student, s.assignment): s.notes for s in submissions if not s.problem})
        results.review = second_look
        path = report.write_report(results, course.class_path / "report.html",
                                   title=f"Grade report · {course.config.CourseDirectory.course_id}"
                                         + (" · demo class" if demo else ""))
        print(f"5/5 report:   {path}\n")
        print(report.text_table(report.score_table(results)))
    print(f"\nDone in {time.perf_counter() - started:.0f} s.")
    if feedback_failed:  # the grades are written, but students would not get their feedback: say so in the exit status
        raise SystemExit(f"error: feedback failed for {', '.join(feedback_failed)}; the grades are in the gradebook, "
                         "fix the error above and run `make grade` again (graded submissions are kept)")


def _review(course, submissions, past):
    """Similar pairs and integrity notes of the class (grader/results/review.py), with a line on the terminal;
    ``past``: earlier terms' folders besides the config's ``c.Similarity.past_terms``."""
    started = time.perf_counter()
    terms = [*review.Similarity(config=course.config).past_terms, *(past or [])]
    try:
        found = review.of_course(course, submissions, past_terms=terms)
    except Exception as error:  # the grades do not depend on it: they are written, and the report and CSVs say so
        print(f"warning: the review (similarity, integrity notes) failed: {type(error).__name__}: {error}; "
              "report.html and the review column say 'not reviewed'", file=sys.stderr)
        return review.ClassReview(review.Similarity(config=course.config).settings, failed=type(error).__name__)
    pairs = sum(len(views) for views in found.pairs.values())
    print(f"    review: {pairs} pair(s) of similar submissions, {len(found.noted)} submission(s) with integrity notes"
          + (f", compared with {len(terms)} earlier term(s)" if terms else "")
          + f" ({time.perf_counter() - started:.1f} s; see the report)")
    return found


def summary(course, submissions):
    """What the autograde step did: graded where and by whom, kept from an earlier run."""
    from collections import Counter

    kept = sum(1 for s in submissions if s.kept)
    per_worker = Counter(s.worker for s in submissions if s.worker and not s.problem)
    lines = [f"    graded: {sum(per_worker.values())} by {course.executor.description}"
             + (f"; kept from an earlier run with the same inputs: {kept}" if kept else "")]
    if per_worker:
        lines.append("    per worker: " + ", ".join(f"{worker} {n}" for worker, n in sorted(per_worker.items())))
    stats = getattr(course.executor, "stats", None)
    if stats:
        lines.append("    cluster: " + ", ".join(f"{key} {value:.6g}" for key, value in sorted(stats.items())))
    return "\n".join(lines)


def export(args):
    """The LMS's grade CSV; each student left out is named, with why and what to do. An export of
    nobody writes nothing and exits non-zero."""
    try:
        path, plugin = pipeline.Course(root=args.root, class_dir=args.class_dir).export(args.lms)
    except NothingExported as error:
        raise SystemExit(f"error: {error}") from None
    print("written:", path)
    if plugin.left_out:
        print(f"warning: {len(plugin.left_out)} student(s) left out, {plugin.lms} would not know them:\n"
              + "".join(f"  {student}: {why}\n" for student, why in plugin.left_out.items())
              + "To export them, " + IMPORT_ROSTER.format(identity=plugin.identity), file=sys.stderr)


def _say_kernel_only(course):
    for notebook, grade_id in course.kernel_only_cells():
        print(f"    note: {notebook}: test cell {grade_id} is judged by the student's kernel alone (marked so)")


def release(args):
    """``backprop-course release``: release/ regenerated from source/."""
    course = pipeline.Course(root=args.root)
    print("release/ regenerated:", ", ".join(course.release()))
    _say_kernel_only(course)


def preflight(args):
    """``backprop-course preflight``: the preflight of each assignment (or those named), its line printed."""
    course = pipeline.Course(root=args.root)
    for passed in course.preflight(*(args.assignment or course.assignments), jobs=args.jobs or pipeline.cores()):
        print(passed.summary())


def dask_config(args):
    """``backprop-course dask-config``: the path of the Dask settings for a grading cluster's processes."""
    from .run.cluster import WORKER_CONFIG  # lazy: distributed, heavy, only for dask-config

    print(WORKER_CONFIG)


def main(argv=None):
    """The command line: parse ``argv`` and run the command."""
    parser = argparse.ArgumentParser(prog="backprop-course", description=__doc__)
    parser.add_argument("--root", default=".", help="the course root, holding nbgrader_config.py (default: .)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("grade", help="release, autograde, feedback, grades.csv, report")
    p.add_argument("--class-dir", default=".", help="folder holding submitted/ (default: the course root)")
    p.add_argument("--jobs", type=int, help="parallel autograde workers (default: the cores this process may use)")
    p.add_argument("--only", action="append", choices=STEPS, help="run only this step (repeatable)")
    p.add_argument("--student", help="regrade only this student's submissions (after an appeal or a fixed test)")
    p.add_argument("--assignment", help="regrade only this assignment's submissions (with --student: that one)")
    p.add_argument("--cluster", metavar="ADDRESS",
                   help="autograde on the workers of this Dask cluster: its scheduler's address (tcp://HOST:PORT) "
                        "or scheduler file (default: local workers)")
    p.add_argument("--past", action="append", metavar="FOLDER",
                   help="an earlier term's class folder (holding submitted/): its submissions are compared with this "
                        "term's for similarity (repeatable; besides c.Similarity.past_terms)")
    p.add_argument("--regrade", action="store_true",
                   help="grade every submission again, also those an earlier run graded from the same inputs")
    p.set_defaults(func=grade)
    sub.add_parser("release", help="regenerate release/ from source/").set_defaults(func=release)
    p = sub.add_parser("preflight", help="check that grading here gives the reference full marks, before any student")
    p.add_argument("assignment", nargs="*", help="the assignments (default: all of source/)")
    p.add_argument("--jobs", type=int, help="assignments checked at once (default: the cores this process may use)")
    p.set_defaults(func=preflight)
    p = sub.add_parser("export", help="the grade CSV an LMS imports, from the class's gradebook")
    p.add_argument("--lms", required=True, choices=("canvas", "moodle"))
    p.add_argument("--class-dir", default=".", help="folder holding submitted/ (default: the course root)")
    p.set_defaults(func=export)
    sub.add_parser("dask-config", help="the path of the Dask settings to start a grading cluster's processes with "
                                       "(DASK_CONFIG=PATH)").set_defaults(func=dask_config)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    sys.exit(main())
