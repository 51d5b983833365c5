#!/usr/bin/env bash
# test_pg_second_run.sh - test_second_run.sh with db_consumer writing to
# PostgreSQL (--db postgresql://..., a private server of the test's own):
# the second run leaves every table identical.
# brokers: embedded kafka
# cost: 24
GK_TEST_DB=postgresql
. "$(dirname "$0")/test_second_run.sh"
