"""nbgrader configuration of the course. Read by every nbgrader command run in this folder."""
import os

c = get_config()  # noqa: F821 (injected by traitlets)

c.CourseDirectory.course_id = "backprop-course"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))

# The class lives in the course root: submitted/, autograded/, feedback/ and the gradebook.
# (`make grade` grades the demo class in examples/demo_class with its own copies of these:
# backprop_course.grader.config.load_config.)
c.CourseDirectory.submitted_directory = "./submitted"
c.CourseDirectory.autograded_directory = "./autograded"
c.CourseDirectory.feedback_directory = "./feedback"

# SQLite by default; point NBGRADER_DB_URL at a shared PostgreSQL for JupyterHub,
# e.g. postgresql+psycopg2://nbgrader:secret@db.example.org/backprop_course
c.CourseDirectory.db_url = os.environ.get(
    "NBGRADER_DB_URL",
    "sqlite:///" + os.path.join(c.CourseDirectory.root, "gradebook.db"),
)

# The reference solution runs in well under a second a cell; 20 s leaves room for slow
# but honest code and stops an infinite loop quickly.
c.Execute.timeout = 20
c.Execute.execute_retries = 0

# A student who deleted a test cell still gets it graded.
c.OverwriteCells.add_missing_cells = True

c.ClearSolutions.code_stub = {
    "python": "# YOUR CODE HERE\nraise NotImplementedError(\"Replace this line with your code.\")"
}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Late work (backprop_course/grader/intake/late.py). Due dates: 'YYYY-MM-DD HH:MM[:SS] ZONE', e.g.
# {"02_backprop": "2026-12-07 23:59:00 Europe/Berlin"}. The penalty: 10 % of the score for each
# day or part of a day late, at most 50 %.
c.DueDates.dates = {}
c.LatePenalty.per_day = 0.10
c.LatePenalty.max_fraction = 0.50

# Submissions from an LMS (`make collect`, backprop_course/grader/intake/lms.py): downloads go to
# downloaded/<assignment>/archive, and are unpacked by the course's safe extractor.
c.ZipCollectApp.downloaded_directory = "downloaded"
c.ZipCollectApp.extractor_plugin = "backprop_course.grader.intake.extract.SafeExtractor"

# `nbgrader collect` from an exchange copies what the intake admits (grader/intake/folder.py), not
# what a link points to.
c.ExchangeFactory.collect = "backprop_course.grader.intake.exchange.IntakeCollect"

# grades.csv (`make grade`, `nbgrader export`): nbgrader's columns, quoted properly.
c.ExportApp.plugin_class = "backprop_course.grader.results.export.GradesCsv"

# Who needs a second look (backprop_course/grader/results/review.py, README "Who needs a second look"):
# similar submissions and integrity notes in report.html and the exports' review column; they
# never change a score. Earlier terms' class folders (each holding submitted/) to compare with:
c.Similarity.past_terms = []

# The course's preprocessors, exporters, preflight and late-penalty plugin, on top of the settings
# above (backprop_course/grader/config.py).
from backprop_course.grader.config import configure  # noqa: E402

configure(c)
