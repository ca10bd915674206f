"""A minimal Django project: one view, served five ways (the article's C6..C11)."""
