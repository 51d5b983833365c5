# metrics/: the registry, Prometheus' text format, the dead-letter reason
# classes it labels by, --metrics-addr parsing and the HTTP endpoint
# (started on a free 127.0.0.1 port and stopped by the test).
gk_unit_test(test_metrics SOURCES test_metrics.c http_client.c LIBS gk_metrics)
