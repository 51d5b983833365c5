#!/usr/bin/env bash
# test_pg_delivery.sh - test_db_delivery.sh with db_consumer writing to
# PostgreSQL (--db postgresql://..., a private server of the test's own).
# brokers: embedded kafka
# cost: 22
GK_TEST_DB=postgresql
. "$(dirname "$0")/test_db_delivery.sh"
