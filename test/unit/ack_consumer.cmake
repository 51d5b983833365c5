gk_unit_test(test_ack_state SOURCES test_ack_state.c LIBS gk_ack_state)
