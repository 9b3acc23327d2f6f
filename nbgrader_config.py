"""nbgrader configuration of the course. Read by every nbgrader command run in this folder."""
import os

c = get_config()  # noqa: F821 (injected by traitlets)

c.CourseDirectory.course_id = "backprop-course"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))

# The class lives in the course root: submitted/, autograded/, feedback/ and the gradebook.
# (`make grade` grades the demo class in examples/demo_class with its own copies of these:
# backprop_course.grader.pipeline.load_config.)
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

from backprop_course.grader.preprocessors import configure  # noqa: E402

configure(c)
