# console/: the ack delay from ack messages, message text for the page, the
# read-only database view (on SQLite files the test makes) and the HTTP side
# (started on a free 127.0.0.1 port and stopped by the test).
gk_unit_test(test_console SOURCES test_console.c http_client.c LIBS gk_console)
