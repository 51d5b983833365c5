/* grow.h - room for one more element in a growable array (a pointer, a
 * count and a capacity), the one way the services grow their lists. */
#ifndef GK_GROW_H
#define GK_GROW_H
#include <stddef.h>

/* Makes room for element n of the array items, whose capacity is *cap
 * elements of elem_size bytes: returns items itself if n < *cap, else the
 * array reallocated to double the capacity (first: the first capacity) with
 * *cap updated. Returns NULL when out of memory; items and *cap are then
 * left as they were. */
void *grow_one(void *items, size_t n, size_t *cap, size_t elem_size, size_t first);

#endif
