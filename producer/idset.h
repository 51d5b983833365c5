/* idset.h - a map from event id (int64) to the sheet row it was first seen
 * in, used to catch duplicate ids within a file.
 *
 * Sheets normally list ids in ascending order, mostly one after another on
 * consecutive rows. Such stretches are kept as runs (first id, first row,
 * length: 16 bytes per run, whatever its length), so a million sequential
 * ids take a few bytes rather than megabytes and memory stays flat however
 * long the sheet is. Ids that come out of order go to an open-addressing hash
 * table (12 bytes per slot at a load factor of at most 1/2). */
#ifndef GK_PRODUCER_IDSET_H
#define GK_PRODUCER_IDSET_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Ids first .. first + count - 1, seen in rows row .. row + count - 1. */
typedef struct {
    int64_t first;
    uint32_t row;
    uint32_t count;
} idset_run;

typedef struct {
    idset_run *runs; /* ascending, disjoint */
    size_t nruns, runs_cap;
    size_t in_runs;  /* ids held by the runs */
    int64_t *keys;   /* hash table: INT64_MIN marks a free slot */
    uint32_t *rows;
    size_t cap;      /* a power of two, or 0 before the first insert */
    size_t count;    /* ids in the table (the INT64_MIN id not included) */
    bool has_min;    /* the id INT64_MIN itself when it is not in a run */
    uint32_t min_row;
} idset;

/* Initialises an empty set (no allocation until the first insert). */
void idset_init(idset *s);

/* Inserts id, first seen in row. Returns 0 if it was new, 1 if it was already
 * there (then *first_row, if not NULL, gets the row it was first seen in),
 * -1 if out of memory. Every int64 value is a valid id. */
int idset_add(idset *s, int64_t id, uint32_t row, uint32_t *first_row);

/* Number of distinct ids in the set. */
size_t idset_size(const idset *s);

/* Bytes of memory the set holds (for tests of its footprint). */
size_t idset_bytes(const idset *s);

/* Frees the memory; the set is empty again afterwards. */
void idset_free(idset *s);

#endif
