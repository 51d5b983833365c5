/* reader.h - one thread per input file: reads the sheet row by row,
 * validates each row against the file's record type, paces and sends it. */
#ifndef GK_PRODUCER_READER_H
#define GK_PRODUCER_READER_H
#include "producer/producer.h"

/* Thread body (pthread_create argument: a producer_file *). Reads f->xr to
 * the end or until f->run->stop, and leaves the outcome in f->state and the
 * reading counters. The first bad row sets run->stop unless skip_invalid.
 * Errors are printed as one line each on stderr, prefixed "producer: ". */
void *reader_main(void *arg);

#endif
