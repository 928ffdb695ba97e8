"""Writers shared by several test files: real files of every format with planted metadata."""
