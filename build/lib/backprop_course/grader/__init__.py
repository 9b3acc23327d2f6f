"""What runs in the instructor's process while grading. Never imported by a student's kernel."""
