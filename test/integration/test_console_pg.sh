#!/usr/bin/env bash
# test_console_pg.sh - test_console.sh with db_consumer's database in
# PostgreSQL (a private server of the test's own): the console reads it
# read-only and the page's counts are the run's. Embedded only: the
# broker's side is test_console's, on both brokers.
# brokers: embedded
# cost: 25
GK_TEST_DB=postgresql
. "$(dirname "$0")/test_console.sh"
