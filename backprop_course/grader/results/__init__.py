"""What comes out: the gradebook merge, the report, the exports, the review, inert student content."""
