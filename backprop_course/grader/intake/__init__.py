"""The way in: what of a submission the grader may open, and how it arrives (exchange, LMS, zip)."""
