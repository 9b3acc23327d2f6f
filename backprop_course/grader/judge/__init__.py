"""The judgement: trusted verdicts on a test cell's outputs, and the course's answers."""
