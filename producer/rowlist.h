/* rowlist.h - a growable list of sheet row numbers, printed as compressed
 * ranges ("17-40, 45") in the producer's account of undelivered rows. */
#ifndef GK_PRODUCER_ROWLIST_H
#define GK_PRODUCER_ROWLIST_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t *rows;
    size_t count, cap;
} rowlist;

/* Appends a row number. Returns 0, or -1 if out of memory. */
int rowlist_add(rowlist *l, uint32_t row);

/* Sorts the rows and formats them as ranges into a malloc'd string: "17-40,
 * 45". Duplicates are merged. After max_ranges ranges the rest is summarised
 * as ", ... and N more rows". Returns NULL if out of memory. */
char *rowlist_format(rowlist *l, size_t max_ranges);

/* Frees the list; it is empty afterwards. */
void rowlist_free(rowlist *l);

#endif
