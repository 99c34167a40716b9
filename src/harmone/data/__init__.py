"""Where the stream comes from: the built-in generator, CSV import, drift induction, windowing."""
