/* The operations a run selected but cannot probe, and why: for the -o
 * warnings, the start line, the JSON start object and summary. */
#ifndef CKBTRACE_UNPROBED_H
#define CKBTRACE_UNPROBED_H

#include <stdint.h>
#include <stdio.h>

#include "session.h"

/* Ops that will not be counted: selected but not resolved, and (without
 * -o) the ones that are off by default. */
uint32_t session_unprobed(const struct session *s);

/* Why op is in session_unprobed(), one clause. */
void session_unprobed_why(const struct session *s, int op, char *buf,
			  size_t len);

/* With -o, "warning: cannot probe OP in FILE: why; ..." on stderr;
 * otherwise only with -v. */
void session_warn_missing(const struct session *s, int op);

/* "Not probed: OP (why), ..." on stderr after the start line; nothing
 * when every op is probed. */
void session_announce_unprobed(const struct session *s);

/* ,"unprobed":{"OP":"why",...} for a JSON start object. */
void session_json_unprobed(const struct session *s, FILE *f);

#endif
