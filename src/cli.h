/* The command-line conventions every tool shares: usage errors (exit 2),
 * -p/-b/-o, seconds, signals and the privilege check. */
#ifndef CKBTRACE_CLI_H
#define CKBTRACE_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "session.h"

#define EXIT_USAGE 2

/* "prog: <message>; see prog --help" on stderr, then exit 2. */
void usage_fail(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

/* A process id, or usage_fail. */
pid_t cli_pid(const char *s);

/* Seconds > 0 (fractions allowed) for option what, or usage_fail. */
double cli_seconds(const char *what, const char *s);

/* Take -p, -b and -o into the session; false for any other option. */
bool cli_session_opt(struct session *ss, int opt, const char *arg);

/* After option parsing: checks what -p, -b and -o say together (-p with
 * -b is one object in one process). */
void cli_session_check(const struct session *ss);

/* SIGINT and SIGTERM call handler (resuming interrupted writes when
 * restart is set); SIGPIPE is ignored. */
void cli_signals(void (*handler)(int), bool restart);

/* Why a tracing loop started at begin_ns should end now: "target
 * exited" (the traced process is gone), "duration" (duration seconds, 0
 * for none, have passed), or NULL to go on. */
const char *run_over(const struct target *t, uint64_t begin_ns,
		     double duration);

/* 0 when this process may load BPF programs; else says so and -EPERM. */
int cli_privileged(void);

#endif
