/* runner.c - the main() every Check unit test shares (see runner.h). */
#include "test/unit/runner.h"

#include <stdlib.h>

int main(int argc, char **argv) {
    if (unit_tests.before) {
        int rc = unit_tests.before(argc, argv);
        if (rc >= 0) return rc;
    }
    SRunner *sr = srunner_create(unit_tests.suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (unit_tests.after) unit_tests.after();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
