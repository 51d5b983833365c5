/* xlsx_transcript.h - everything the xlsx reader hands out, as text.
 *
 * Shared by test_xlsx and the fuzz_xlsx_sheet target, which both compare the
 * reader's fast path with its libxml2 path by their transcripts. */
#ifndef GK_XLSX_TRANSCRIPT_H
#define GK_XLSX_TRANSCRIPT_H

/* Reads path with GK_XLSX_PARSER=parser and returns each row and cell, then
 * how reading ended with the error text (malloc'd), or NULL if out of memory. */
char *xlsx_transcript(const char *path, const char *parser);

#endif
