"""Instructor-side tools: execute notebooks headless, run the demo, grade a class with nbgrader.

Nothing here is student-facing, and nothing here holds a solution: solutions live only in the source notebooks.
"""
