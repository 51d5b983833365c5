/* rowlist.c - row numbers as compressed ranges (see rowlist.h). */
#include "producer/rowlist.h"

#include "common/grow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rowlist_add(rowlist *l, uint32_t row) {
    uint32_t *rows = grow_one(l->rows, l->count, &l->cap, sizeof *rows, 64);
    if (!rows) return -1;
    l->rows = rows;
    l->rows[l->count++] = row;
    return 0;
}

static int rowlist_cmp(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

char *rowlist_format(rowlist *l, size_t max_ranges) {
    if (l->count > 1) qsort(l->rows, l->count, sizeof *l->rows, rowlist_cmp);
    /* Each range is at most 2 * 10 digits plus separators. */
    size_t cap = (max_ranges < l->count ? max_ranges : l->count) * 24 + 64;
    char *out = malloc(cap);
    if (!out) return NULL;
    size_t o = 0, ranges = 0, i = 0;
    out[0] = '\0';
    while (i < l->count) {
        uint32_t lo = l->rows[i], hi = lo;
        size_t j = i + 1;
        while (j < l->count && (l->rows[j] == hi || l->rows[j] == hi + 1)) hi = l->rows[j++];
        if (ranges == max_ranges) {
            size_t rest = 0;
            for (size_t k = i; k < l->count; k++)
                if (k == i || l->rows[k] != l->rows[k - 1]) rest++;
            o += (size_t)snprintf(out + o, cap - o, ", ... and %zu more rows", rest);
            break;
        }
        if (lo == hi)
            o += (size_t)snprintf(out + o, cap - o, "%s%u", ranges ? ", " : "", lo);
        else
            o += (size_t)snprintf(out + o, cap - o, "%s%u-%u", ranges ? ", " : "", lo, hi);
        ranges++;
        i = j;
    }
    return out;
}

void rowlist_free(rowlist *l) {
    free(l->rows);
    l->rows = NULL;
    l->count = l->cap = 0;
}
