/* runner.h - the one main() of the Check unit tests (runner.c).
 *
 * Each test executable is one test file plus runner.c. The test file says
 * what to run by defining unit_tests: the function that builds its suite and,
 * if it needs them, one to call before the run (a child mode of the test, a
 * temporary directory) and one after it. runner.c runs the suite with Check's
 * SRunner and exits non-zero if any test failed. */
#ifndef GK_TEST_RUNNER_H
#define GK_TEST_RUNNER_H
#include <check.h>

typedef struct {
    Suite *(*suite)(void); /* builds the suite */
    /* Optional: called first with main's arguments. Returns -1 to run the
     * suite, or the exit status to end with at once. */
    int (*before)(int argc, char **argv);
    void (*after)(void); /* optional: called once the suite has run */
} unit_def;

/* Defined by every test file. */
extern const unit_def unit_tests;

#endif
