# Unit tests of analysis/: percentiles, the event join and its invariants,
# message decoding, time parsing, CSV output and the gnuplot charts.
gk_unit_test(test_analysis SOURCES test_analysis.c LIBS gk_analysis)
