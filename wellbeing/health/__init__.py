"""Vision and fitness records: the school doctor's entry grid and import, a student's
health page, parent letters, the national upload export and school summaries. The
rules themselves (classification, scoring) live in `screening.vision` and
`screening.fitness`; this package stores, shows and prints what they compute."""
