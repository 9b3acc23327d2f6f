"""Code similarity across a class (grader/similarity.py, grader/review.py), on classes written to a
submitted/ folder: nothing is graded, the review reads the notebooks through the intake.

- planted copies (variables renamed, functions reordered, comments and layout rewritten; each
  alone and all at once) are flagged beside their original;
- the catalogue's correct styles are not flagged against each other, whole or exercise by
  exercise, nor is a mistake against a correct version it was not written from;
- the course's own code, the class's common code and short matches do not count;
- earlier terms are compared with this one (the config's setting, and `make grade PAST=…`),
  through the same intake;
- the report shows the pairs side by side as text: a student's markup stays inert.
"""
import difflib
import os
import re
import subprocess

import nbformat
import pytest

from backprop_course.grader.results import report, review, similarity
from answers.catalogue import CATALOGUE, EXERCISES, NOTEBOOK
from review_helpers import (DISGUISES, HOSTILE, ROOT, cells_of, course_of, distinct_styles, planted_class,
                            submission, write)


def flagged(found, assignment=None):
    """{(owner, owner)} of the pairs a ClassReview lists, in both orders."""
    pairs = set()
    for name, views in found.pairs.items():
        if assignment in (None, name):
            for view in views:
                pairs |= {(view.pair.a.owner, view.pair.b.owner), (view.pair.b.owner, view.pair.a.owner)}
    return pairs


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    class_dir = tmp_path_factory.mktemp("planted")
    copies = planted_class(class_dir)
    return copies, review.of_course(course_of(class_dir))


def test_every_planted_copy_is_flagged_beside_its_original(planted):
    copies, found = planted
    missed = [f"{copy} ({how})" for (style, copy), how in copies.items() if (style, copy) not in flagged(found)]
    assert not missed, f"copies not flagged: {missed}"
    assert {how for how in copies.values()} == set(DISGUISES)
    threshold = found.settings.threshold
    for views in found.pairs.values():
        for view in views:
            assert view.pair.score >= threshold and view.pair.overlap >= found.settings.min_overlap


def test_the_disguises_change_the_text(planted):
    """A copy is not caught by comparing text: a disguised one shares few of its lines with the original."""
    for sub in distinct_styles("02_backprop"):
        original = "\n".join(cells_of(sub).values()).splitlines()
        disguised = "\n".join(DISGUISES["disguised"](c) for c in cells_of(sub).values()).splitlines()
        same = sum(block.size for block in difflib.SequenceMatcher(None, original, disguised).get_matching_blocks())
        assert same < 0.5 * len(original), sub.name


def test_the_catalogue_styles_are_not_flagged_against_each_other(planted):
    copies, found = planted
    for assignment in NOTEBOOK:
        styles = [s.name for s in distinct_styles(assignment)]
        assert len(styles) >= 4, f"{assignment}: the catalogue has {len(styles)} independent styles"
        wrong = {(a, b) for a in styles for b in styles if a < b} & flagged(found, assignment)
        assert not wrong, f"{assignment}: different correct styles flagged: {sorted(wrong)}"


def _compare(cells, assignment, course):
    """{(i, j)} of the one-cell documents ``cells`` ([(exercise, source)]) flagged as similar, with
    the course's settings but for common code: the few documents here are no class."""
    import dataclasses

    base = _bases(course)[assignment]
    documents = [similarity.Document(f"d{i}", (cell,)) for i, cell in enumerate(cells)]
    settings = dataclasses.replace(review.Similarity(config=course.config).settings, common=len(cells))
    result = similarity.compare(documents, base, settings)
    return {tuple(sorted((int(p.a.owner[1:]), int(p.b.owner[1:])))) for p in result.pairs}


_BASES = {}


def _bases(course):
    if not _BASES:
        import glob

        settings = review.Similarity(config=course.config).settings
        lectures = similarity.base_fingerprints([review.code_of(nbformat.read(p, as_version=4))
                                                 for p in sorted(glob.glob(str(ROOT / "notebooks/[0-9]*.ipynb")))], settings)
        for assignment, notebook in NOTEBOOK.items():
            release = nbformat.read(ROOT / "release" / assignment / notebook, as_version=4)
            _BASES[assignment] = similarity.base_fingerprints([review.code_of(release)], settings, also=lectures)
    return _BASES


def test_no_two_correct_versions_of_an_exercise_are_flagged(tmp_path):
    """Exercise by exercise, every correct version the catalogue has, each its own submission."""
    course = course_of(tmp_path)
    for assignment, exercises in EXERCISES.items():
        for exercise in exercises:
            versions = sorted({cells_of(s)[exercise] for s in CATALOGUE if s.assignment == assignment and s.correct})
            assert len(versions) >= 4
            assert not _compare([(exercise, v) for v in versions], assignment, course), f"{assignment}/{exercise}"


def test_a_mistake_is_flagged_only_against_the_version_it_was_written_from(tmp_path):
    """Each mistake of the catalogue is one edit of a correct version: it may match that one, and
    no other (the closest by text, difflib)."""
    course = course_of(tmp_path)
    for assignment, exercises in EXERCISES.items():
        for exercise in exercises:
            versions = sorted({cells_of(s)[exercise] for s in CATALOGUE if s.assignment == assignment and s.correct})
            mistakes = [s for s in CATALOGUE if s.assignment == assignment and s.mistakes[exercise]]
            found = _compare([(exercise, v) for v in versions] + [(exercise, cells_of(m)[exercise]) for m in mistakes],
                             assignment, course)
            for i, mistake in enumerate(mistakes, len(versions)):
                cell = cells_of(mistake)[exercise]
                closest = max(range(len(versions)), key=lambda v: difflib.SequenceMatcher(None, cell, versions[v]).ratio())
                wrong = {(v, m) for v, m in found if m == i and v < len(versions) and v != closest}
                assert not wrong, f"{mistake.name} flagged against another correct version: {wrong}"


def test_the_course_code_and_short_matches_do_not_count(tmp_path):
    """Two blank releases share only the course's code; two students who each wrote one line the
    same way share too little to say anything."""
    release = nbformat.read(ROOT / "release" / "01_neuron" / "neuron.ipynb", as_version=4)
    stubs = {c.metadata.nbgrader["grade_id"]: c.source for c in release.cells if c.metadata.get("nbgrader", {}).get("solution")}
    stub = 'raise NotImplementedError("Replace this line with your code.")'
    assert stub in stubs["activations"]
    one_line = dict(stubs, activations=stubs["activations"].replace(stub, "return 1 / (1 + np.exp(-net))", 1))
    for student, cells in (("blank-1", stubs), ("blank-2", stubs), ("one-line-1", one_line), ("one-line-2", one_line)):
        write(tmp_path, student, submission("01_neuron", cells))
    found = review.of_course(course_of(tmp_path))
    assert not flagged(found)
    assert found.comparisons["01_neuron"].documents == 4


def test_code_most_of_the_class_shares_is_common_and_a_shared_rarity_is_not(tmp_path):
    """Twelve students hand in the same solution (more than c.Similarity.common, 10): that is the
    class's common code, as MOSS's -m has it. Two of them also share a helper nobody else has."""
    style = distinct_styles("03_vectorised")[1]
    helper = '''


def my_own_schedule(epoch, start=0.7, decay=0.93, floor=0.013, warmup=4):
    """The learning rate of an epoch: a warm-up, then steps down, never below the floor."""
    if epoch < warmup:
        return start * (epoch + 1) / warmup
    rate = start * decay ** (epoch // 3) - floor * (epoch % 7)
    while rate < floor:
        rate = rate * 1.5 + floor / 4
    history = [rate]
    for k in range(3):
        history.append(history[-1] * 0.5 + floor)
    return max(min(history), floor * 2.5)
'''
    for i in range(12):
        cells = cells_of(style)
        if i < 2:
            cells["sgd_epoch"] += helper
        write(tmp_path, f"student-{i:02d}", submission("03_vectorised", cells))
    found = review.of_course(course_of(tmp_path))
    assert flagged(found) == {("student-00", "student-01"), ("student-01", "student-00")}
    assert found.comparisons["03_vectorised"].common > 0


def test_an_earlier_term_is_compared_through_the_intake(tmp_path):
    now, then = tmp_path / "now", tmp_path / "2025"
    styles = distinct_styles("02_backprop")
    write(now, "ada", styles[0])
    write(now, "grace", styles[1])
    write(then, "alan", submission("02_backprop", {e: DISGUISES["disguised"](c) for e, c in cells_of(styles[0]).items()}))
    write(then, "edsger", styles[2])
    write(then, "barbara", styles[2])     # two of an earlier term alike: not this term's business
    outside = tmp_path / "elsewhere.ipynb"
    outside.write_text((now / "submitted/grace/02_backprop/backprop.ipynb").read_text())
    (then / "submitted/linked/02_backprop").mkdir(parents=True)
    os.symlink(outside, then / "submitted/linked/02_backprop/backprop.ipynb")   # never followed
    course = course_of(now)
    found = review.of_course(course, past_terms=[str(then)])
    assert flagged(found) == {("ada", "2025/alan"), ("2025/alan", "ada")}
    assert any(line.startswith("2025/linked:") and "symbolic link" in line for line in found.unread), found.unread
    assert found.past == ["2025 (01_neuron: 0 submissions)", "2025 (02_backprop: 3 submissions)",
                          "2025 (03_vectorised: 0 submissions)", "2025 (04_autograd: 0 submissions)"]
    assert re.fullmatch(r"similar to 2025/alan \((\d+) %\) \(see report\.html\)", found.summary("ada", "02_backprop"))
    # the same from the config's setting
    course.config.Similarity.past_terms = [str(then / "submitted")]
    assert flagged(review.of_course(course)) == flagged(found)


def test_make_grade_passes_past_terms_to_the_grader():
    done = subprocess.run(["make", "-n", "--no-print-directory", "grade", "PAST=/srv/term-2025 ../term-2024"],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    (line,) = [line for line in done.stdout.splitlines() if "backprop-course grade" in line]
    assert 'grade --class-dir' in line and '--past "/srv/term-2025" --past "../term-2024"' in line


def test_the_report_shows_the_overlap_as_inert_text(tmp_path):
    style = distinct_styles("01_neuron")[0]
    cells = cells_of(style)
    cells["activations"] += HOSTILE
    write(tmp_path, "<i onmouseover=alert(1)>ada", submission("01_neuron", cells))
    write(tmp_path, "grace", submission("01_neuron", {e: DISGUISES["disguised"](c) for e, c in cells.items()}))
    found = review.of_course(course_of(tmp_path))
    assert flagged(found) == {("<i onmouseover=alert(1)>ada", "grace"), ("grace", "<i onmouseover=alert(1)>ada")}
    html = report.render(report.ClassResults(list(NOTEBOOK), review=found))
    section = html.split('id="similar"', 1)[1]
    assert "<script" not in html and "<i onmouseover" not in html and "<img src=x" not in html
    assert "&lt;i onmouseover=alert(1)&gt;ada" in section and "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in section
    assert "\u202e" not in html and "\\u202e" in section        # a bidi control is shown, not obeyed
    assert "{{ 7 * 7 }}" in section                              # the student's text is never a template
    left, right = section.split('class="side"')[1:3]
    assert "<mark>" in left and "<mark>" in right


def test_a_review_that_failed_says_so_everywhere():
    """The grades do not wait for the review: when it fails, the report and the review column say
    it was not done, never that there was nothing to see."""
    failed = review.ClassReview(review.Similarity().settings, failed="RecursionError")
    assert failed.summary("ada", "01_neuron") == "not reviewed (the review failed: RecursionError)"
    assert failed.student_summary("ada", ["01_neuron", "02_backprop"]) == failed.summary("ada", "01_neuron")
    html = report.render(report.ClassResults(list(NOTEBOOK), review=failed))
    assert "Not checked: the review failed (RecursionError, see the grader's log)." in html
    assert "None above the threshold" not in html and "<p>None.</p>" not in html.split('id="integrity"')[1]
    assert "For a second look" not in html

