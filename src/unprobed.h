/* The operations a run selected but cannot probe, and why: for the -o
 * warnings, the start line, the JSON start object and summary. */
#ifndef CKBTRACE_UNPROBED_H
#define CKBTRACE_UNPROBED_H

#include <stdint.h>
#include <stdio.h>

#include "rocksdb.h"

/* Ops that will not be counted: selected but not resolved, and (without
 * -o) the ones that are off by default. */
uint32_t rocksdb_unprobed(const struct rocksdb_run *s);

/* Why op is in rocksdb_unprobed(), one clause. */
void rocksdb_unprobed_why(const struct rocksdb_run *s, int op, char *buf,
			  size_t len);

/* With -o, "warning: cannot probe OP in FILE: why; ..." on stderr;
 * otherwise only with -v. */
void rocksdb_warn_missing(const struct rocksdb_run *s, int op);

/* "Not probed: OP (why), ..." on stderr after the start line; nothing
 * when every op is probed. */
void rocksdb_announce_unprobed(const struct rocksdb_run *s);

/* ,"unprobed":{"OP":"why",...} for a JSON start object. */
void rocksdb_json_unprobed(const struct rocksdb_run *s, FILE *f);

#endif
