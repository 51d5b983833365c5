/* idset.h - a compact open-addressing hash map from event id (int64) to the
 * sheet row it was first seen in, used to catch duplicate ids within a file.
 *
 * 12 bytes per slot at a load factor of at most 1/2: a million ids take
 * about 24 MiB. */
#ifndef GK_PRODUCER_IDSET_H
#define GK_PRODUCER_IDSET_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    int64_t *keys;   /* INT64_MIN marks a free slot */
    uint32_t *rows;
    size_t cap;      /* a power of two, or 0 before the first insert */
    size_t count;    /* ids in the table (the INT64_MIN id not included) */
    bool has_min;    /* the id INT64_MIN itself, kept aside */
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

/* Frees the memory; the set is empty again afterwards. */
void idset_free(idset *s);

#endif
