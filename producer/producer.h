/* producer.h - the state shared by the producer's modules: one
 * producer_file per input file and one producer_run for the whole run.
 *
 * Reading fields of a file belong to its reader thread until it is joined;
 * delivery fields are updated by delivery reports, which librdkafka runs in
 * whichever thread polls, hence the atomics and the lock. */
#ifndef GK_PRODUCER_PRODUCER_H
#define GK_PRODUCER_PRODUCER_H
#include "producer/pace.h"
#include "producer/rowlist.h"
#include "schema/schema.h"
#include "xlsx/xlsx.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

/* How a file's reading ended. */
typedef enum {
    FILE_PENDING = 0, /* not read yet */
    FILE_DONE,        /* every row read */
    FILE_BAD_ROW,     /* stopped at an invalid row (or header) */
    FILE_READ_ERROR,  /* the xlsx itself could not be read further */
    FILE_STOPPED,     /* stopped early: signal, fatal error or another file's bad row */
    FILE_INTERNAL,    /* out of memory or similar */
} file_state;

typedef struct producer_run producer_run;

typedef struct {
    size_t index;
    const char *path;  /* as given on the command line (error messages) */
    const char *base;  /* basename (gk-source header) */
    const schema_record *rec;
    const char *topic;
    xlsx_reader *xr;
    producer_run *run;
    pthread_t thread;

    /* Reading: owned by the reader thread until joined. */
    file_state state;
    uint64_t sent;      /* rows handed to librdkafka (delivered + failed, in the end) */
    uint32_t last_sent; /* sheet row number of the last row handed over, 0 if none */
    uint32_t last_read; /* sheet row number of the last row read */
    uint32_t bad_row;   /* the invalid row that stopped it (FILE_BAD_ROW) */
    uint64_t skipped;   /* invalid rows skipped (--skip-invalid) */
    atomic_int finished; /* set by the reader thread as it ends */

    /* Delivery: updated from delivery reports. */
    atomic_uint_fast64_t delivered, failed, bytes;
    pthread_mutex_t lock; /* guards failed_rows */
    rowlist failed_rows;
} producer_file;

typedef struct sender sender;

struct producer_run {
    int skip_invalid;
    double rate;
    pace_arrivals arrivals;
    const pace_curve *curve; /* NULL: the constant rate; else rate follows it (rate = its peak) */
    uint64_t seed;
    int64_t start_ns;     /* common first deadline, so files send in step */
    atomic_int stop;      /* set: every reader stops reading */
    atomic_int running;   /* reader threads not yet finished */
    sender *snd;
};

#endif
