/* log.h - leveled logging to stderr, shared by every Genetika+ program.
 *
 * One line per message: "2026-11-22T12:00:00.123Z producer ERROR: text".
 * Thread-safe: each line is written with a single locked stdio call. */
#ifndef GK_LOG_H
#define GK_LOG_H

typedef enum { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG } log_level;

/* Sets the program name shown on each line and the most verbose level kept. */
void log_init(const char *prog, log_level level);

/* Parses "error", "warn", "info" or "debug" (case-insensitive) into *out.
 * Returns 0 on success, -1 if the name is unknown. */
int log_level_parse(const char *name, log_level *out);

/* The level currently in force. */
log_level log_get_level(void);

/* Writes one line at the given level if that level is enabled. */
void log_msg(log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
