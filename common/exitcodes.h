/* exitcodes.h - the exit statuses every Genetika+ program uses.
 *
 * They follow BSD sysexits(3) so scripts and supervisors can tell a usage
 * mistake from bad input, an unreachable broker or detected data loss. */
#ifndef GK_EXITCODES_H
#define GK_EXITCODES_H

#define GK_EXIT_OK 0          /* all work done (also after a clean SIGINT/SIGTERM stop) */
#define GK_EXIT_FAILURE 1     /* unexpected runtime failure */
#define GK_EXIT_USAGE 64      /* bad command line or environment variable */
#define GK_EXIT_DATAERR 65    /* invalid input data (xlsx row, cell, header) */
#define GK_EXIT_NOINPUT 66    /* input file missing or unreadable */
#define GK_EXIT_NODATABASE 68 /* the database named does not exist (PostgreSQL) */
#define GK_EXIT_UNAVAILABLE 69 /* Kafka broker (or the database at start-up) unreachable / fatal client error */
#define GK_EXIT_SOFTWARE 70   /* internal error */
#define GK_EXIT_CANTCREAT 73  /* cannot create the database, cache or output file */
#define GK_EXIT_IOERR 74      /* storage error while running (SQLite, LMDB, disk) */
#define GK_EXIT_UNDELIVERED 75 /* some messages could not be delivered (retry later) */
#define GK_EXIT_DATALOSS 76   /* consumer position fell out of the log: data lost upstream */
#define GK_EXIT_NOPERM 77     /* the database refused us: authentication, privileges */
#define GK_EXIT_CONFIG 78     /* a database table disagrees with the schema */
#define GK_EXIT_SIGNAL 130    /* second SIGINT/SIGTERM: stopped at once */

#endif
